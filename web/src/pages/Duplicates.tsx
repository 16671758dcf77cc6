import { useCallback, useEffect, useState } from "react";
import { entityName, media, store, type DuplicateGroup, type Entity } from "../api/client";
import { bytes } from "../lib/format";
import { CHANGED } from "../upload";
import { useViewer } from "../viewer-context";

function exact(group: DuplicateGroup): boolean {
  const hashes = new Set(group.entities.map((e) => e.sha256 ?? e.md5));
  return hashes.size === 1;
}

export default function Duplicates() {
  const [groups, setGroups] = useState<DuplicateGroup[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const viewer = useViewer();

  const load = useCallback(async () => {
    const { data } = await store.GET("/duplicates", {});
    setGroups((data?.groups ?? []).map((g) => ({ ...g, entities: g.entities.filter((e) => !e.is_deleted) })).filter((g) => g.entities.length > 1));
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  async function keep(group: DuplicateGroup, keeper: Entity) {
    const others = group.entities.filter((e) => e.id !== keeper.id);
    await Promise.all(others.map((e) => store.PATCH("/entity/{entity_id}", { params: { path: { entity_id: e.id } }, body: { body: { is_deleted: true } } })));
    setNotice(`Kept ${entityName(keeper)}; moved ${others.length} to the trash.`);
    window.dispatchEvent(new CustomEvent(CHANGED));
    void load();
  }

  return (
    <div className="page">
      <h1>Duplicates</h1>
      <p className="muted">Photos that look the same. Keep the best one; the others go to the trash (you can restore them from there).</p>
      {notice && <p role="status" className="notice">{notice}</p>}
      {groups === null && <p className="muted" role="status">Loading…</p>}
      {groups?.length === 0 && <p className="muted">No duplicates found.</p>}
      {groups?.map((g, i) => {
        const biggest = Math.max(...g.entities.map((e) => (e.width ?? 0) * (e.height ?? 0)));
        return (
          <section key={g.entity_ids.join("-")} className="dup-group card" aria-labelledby={`dup-${i}`}>
            <h2 id={`dup-${i}`}>{exact(g) ? "Exact copies" : "Near duplicates"} · {g.entities.length} items</h2>
            <ul className="dup-items">
              {g.entities.map((e) => (
                <li key={e.id}>
                  <button type="button" className="dup-thumb" onClick={() => viewer.open(g.entities.map((x) => ({ id: x.id, v: x.token })), e.id)} aria-label={`Open ${entityName(e)}`}>
                    <img src={media.thumbnail(e.id, e.token)} alt={entityName(e)} loading="lazy" />
                  </button>
                  <dl className="details compact">
                    <div><dt>Name</dt><dd>{entityName(e)}</dd></div>
                    <div><dt>Size</dt><dd>{bytes(e.file_size)}</dd></div>
                    <div><dt>Resolution</dt><dd>{e.width && e.height ? `${e.width} × ${e.height}` : "—"}{(e.width ?? 0) * (e.height ?? 0) === biggest && g.entities.length > 1 ? " (largest)" : ""}</dd></div>
                    <div><dt>Date</dt><dd>{e.create_date ? new Date(e.create_date).toLocaleString() : "—"}</dd></div>
                  </dl>
                  <button type="button" className="primary" onClick={() => void keep(g, e)} aria-label={`Keep ${entityName(e)}, trash the others`}>Keep this one</button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </div>
  );
}
