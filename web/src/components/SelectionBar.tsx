import { useState } from "react";
import { store } from "../api/client";
import { useAlbums } from "../pages/Albums";
import { CHANGED } from "../upload";
import type { TimelineFilter } from "./Timeline";

type Body = { is_deleted?: boolean; parent_id?: number | null };

/** Actions on the selected items: album in/out, trash, restore, delete for good. */
export function SelectionBar({ ids, filter, onDone }: { ids: number[]; filter: TimelineFilter; onDone: () => void }) {
  const albums = useAlbums();
  const [target, setTarget] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function each(run: (id: number) => Promise<boolean>) {
    setBusy(true);
    const queue = [...ids];
    let failed = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) if (!(await run(id))) failed += 1;
    }));
    setBusy(false);
    window.dispatchEvent(new CustomEvent(CHANGED));
    if (failed) setError(`${failed} of ${ids.length} could not be changed.`);
    else onDone();
  }
  const patch = (body: Body) => each(async (id) => {
    const { data } = await store.PATCH("/entity/{entity_id}", { params: { path: { entity_id: id } }, body: { body } });
    return !!data;
  });
  const remove = () => {
    if (!confirm(`Delete ${ids.length} item(s) for good? This cannot be undone.`)) return;
    void each(async (id) => (await store.DELETE("/entity/{entity_id}", { params: { path: { entity_id: id } } })).response.ok);
  };

  const n = ids.length;
  return (
    <div className="selection-bar card" role="region" aria-label="Selection">
      <strong>{n} selected</strong>
      {filter.is_deleted ? (
        <>
          <button type="button" className="primary" disabled={busy} onClick={() => void patch({ is_deleted: false })}>Restore selected</button>
          <button type="button" className="danger" disabled={busy} onClick={remove}>Delete selected for good</button>
        </>
      ) : (
        <>
          <form className="inline" onSubmit={(e) => { e.preventDefault(); if (target) void patch({ parent_id: Number(target) }); }}>
            <label className="visually-hidden" htmlFor="bulk-album">Album for the selected items</label>
            <select id="bulk-album" value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">Album…</option>
              {albums.filter((a) => a.id !== filter.parent_id).map((a) => <option key={a.id} value={a.id}>{a.path}</option>)}
            </select>
            <button type="submit" disabled={busy || !target}>Add selected to album</button>
          </form>
          {filter.parent_id != null && (
            <button type="button" disabled={busy} onClick={() => void patch({ parent_id: null })}>Remove selected from album</button>
          )}
          <button type="button" disabled={busy} onClick={() => void patch({ is_deleted: true })}>Move selected to trash</button>
        </>
      )}
      <button type="button" className="ghost" onClick={onDone}>Clear selection</button>
      {error && <p role="alert" className="error">{error}</p>}
    </div>
  );
}
