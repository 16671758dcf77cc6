import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useLocation } from "react-router";
import { entityName, errorText, inference, media, store, type Analysis, type Entity, type Version } from "../api/client";
import { bytes, duration, fullDate } from "../lib/format";
import { CHANGED } from "../upload";
import { useViewer } from "../viewer-context";
import { useAlbums } from "./Albums";

const changed = () => window.dispatchEvent(new CustomEvent(CHANGED));

/** Full-screen preview over the current page: ←/→ to move, Esc to close, +/− to zoom. */
export default function Viewer({ id }: { id: number }) {
  const viewer = useViewer();
  const [entity, setEntity] = useState<Entity | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [zoom, setZoom] = useState(1);
  const [info, setInfo] = useState(window.innerWidth > 900);
  const [notice, setNotice] = useState<string | null>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const { prev, next } = viewer.neighbours(id);

  const load = useCallback(async () => {
    const { data, error: err } = await store.GET("/entity/{entity_id}", { params: { path: { entity_id: id } } });
    setEntity(data ?? null);
    setError(err ? errorText(err, "This item cannot be shown.") : null);
  }, [id]);

  useEffect(() => {
    setZoom(1);
    setNotice(null);
    void load();
  }, [load]);

  // Fetch the neighbours' previews ahead, so ←/→ show them at once (same immutable URLs).
  useEffect(() => {
    for (const n of [next, prev]) {
      if (n) new Image().src = media.preview(n, viewer.token(n));
    }
  }, [next, prev, viewer]);

  useEffect(() => {
    // focus moves into the viewer, and back to what opened it when it closes
    const opener = document.activeElement as HTMLElement | null;
    closeRef.current?.focus();
    return () => opener?.focus?.();
  }, []);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const tag = (e.target as HTMLElement).tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
      if (e.key === "Escape") viewer.close();
      else if (e.key === "ArrowLeft" && prev) viewer.show(prev);
      else if (e.key === "ArrowRight" && next) viewer.show(next);
      else if (e.key === "+" || e.key === "=") setZoom((z) => Math.min(z * 1.5, 8));
      else if (e.key === "-") setZoom((z) => Math.max(z / 1.5, 1));
      else return;
      e.preventDefault();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [viewer, prev, next]);

  async function patch(body: { is_deleted?: boolean; parent_id?: number | null; label?: string | null }, message: string) {
    const { data, error: err } = await store.PATCH("/entity/{entity_id}", {
      params: { path: { entity_id: id } }, body: { body },
    });
    if (data) {
      setEntity(data);
      setNotice(message);
      changed();
    } else setNotice(errorText(err));
  }

  async function deleteForGood() {
    if (!confirm("Delete this item for good? This cannot be undone.")) return;
    const { response } = await store.DELETE("/entity/{entity_id}", { params: { path: { entity_id: id } } });
    if (response.ok) {
      changed();
      if (next) viewer.show(next);
      else viewer.close();
    } else setNotice("It could not be deleted.");
  }

  const name = entity ? entityName(entity) : "";
  return (
    <div className="viewer" role="dialog" aria-modal="true" aria-label={name ? `Viewer: ${name}` : "Viewer"}>
      <div className="viewer-bar">
        <button ref={closeRef} type="button" className="ghost" onClick={viewer.close} aria-label="Close">✕</button>
        <h2 className="viewer-title">{name}</h2>
        {entity && entity.type !== "video" && (
          <>
            <button type="button" className="ghost" aria-label="Zoom out" onClick={() => setZoom((z) => Math.max(z / 1.5, 1))} disabled={zoom <= 1}>−</button>
            <button type="button" className="ghost" aria-label="Zoom in" onClick={() => setZoom((z) => Math.min(z * 1.5, 8))}>+</button>
          </>
        )}
        {entity && <a className="button ghost" href={media.file(id)} download={entity.original_filename ?? undefined}>Download</a>}
        {entity && !entity.is_deleted && (
          <button type="button" className="ghost" onClick={() => void patch({ is_deleted: true }, "Moved to the trash.")}>Move to trash</button>
        )}
        <button type="button" className="ghost" aria-pressed={info} onClick={() => setInfo(!info)}>Info</button>
      </div>
      <div className="viewer-body">
        <div className="stage">
          {prev && <button type="button" className="nav prev" aria-label="Previous" onClick={() => viewer.show(prev)}>‹</button>}
          {error && <p role="alert" className="error">{error}</p>}
          {entity && (entity.type === "video" ? (
            <video key={id} controls autoPlay playsInline preload="metadata" src={media.file(id)}
              poster={media.preview(id, entity.token)} aria-label={name} />
          ) : (
            <div className={`zoom${zoom > 1 ? " zoomed" : ""}`}>
              <img key={id} src={media.preview(id, entity.token)} alt={name}
                style={{ transform: `scale(${zoom})` }}
                onDoubleClick={() => setZoom((z) => (z > 1 ? 1 : 2.5))} />
            </div>
          ))}
          {next && <button type="button" className="nav next" aria-label="Next" onClick={() => viewer.show(next)}>›</button>}
        </div>
        {info && entity && (
          <aside className="info" aria-label="Details">
            {notice && <p role="status" className="notice">{notice}</p>}
            {entity.is_deleted && (
              <div className="actions">
                <p>This item is in the trash.</p>
                <button type="button" className="primary" onClick={() => void patch({ is_deleted: false }, "Restored.")}>Restore</button>
                <button type="button" className="danger" onClick={() => void deleteForGood()}>Delete for good</button>
              </div>
            )}
            <TitleForm entity={entity} onSave={(label) => void patch({ label }, "Title saved.")} />
            <Details entity={entity} />
            <AnalysisPanel id={id} />
            <AlbumPicker entity={entity} onMove={(parent) => void patch({ parent_id: parent }, parent ? "Moved to the album." : "Removed from the album.")} />
            <Versions entity={entity} onRestored={(e) => { setEntity(e); setNotice("Version restored."); changed(); }} />
            <p><Link to={`/search?similar=${id}`}>More like this</Link></p>
          </aside>
        )}
      </div>
    </div>
  );
}

function TitleForm({ entity, onSave }: { entity: Entity; onSave: (label: string | null) => void }) {
  const [title, setTitle] = useState(entity.label ?? "");
  useEffect(() => setTitle(entity.label ?? ""), [entity.id, entity.label]);
  return (
    <form className="inline" onSubmit={(e) => { e.preventDefault(); onSave(title.trim() || null); }}>
      <label>
        Title
        <input value={title} maxLength={255} placeholder={entity.original_filename ?? ""} onChange={(e) => setTitle(e.target.value)} />
      </label>
      <button type="submit" className="small" disabled={title === (entity.label ?? "")}>Save title</button>
    </form>
  );
}

/** The capture time as recorded, with its zone when the file has one (EXIF offset tags). */
function takenText(entity: Entity, tags: Record<string, unknown> | null): string {
  const source = entity.create_date_source;
  const raw = source && tags ? tags[source] : undefined;
  const from = source ? ` (from ${source})` : "";
  if (typeof raw === "string") {
    const m = /^(\d{4}):(\d\d):(\d\d) (\d\d:\d\d:\d\d)(?:\.\d+)?\s*(Z|[+-]\d\d:\d\d)?$/.exec(raw.trim());
    const offsetTag = Object.entries(tags ?? {}).find(([k]) => /OffsetTime(Original)?$/.test(k))?.[1];
    const zone = m?.[5] ?? (typeof offsetTag === "string" ? offsetTag : null);
    if (m && zone) return `${m[1]}-${m[2]}-${m[3]} ${m[4]} ${zone === "Z" ? "UTC" : `UTC${zone}`}${from}`;
  }
  return `${fullDate(entity.create_date!)} UTC${from}`;
}

function Details({ entity }: { entity: Entity }) {
  const [tags, setTags] = useState<Record<string, unknown> | null>(null);
  useEffect(() => {
    let live = true;
    void store.GET("/entity/{entity_id}/metadata", { params: { path: { entity_id: entity.id } } })
      .then(({ data }) => live && setTags((data as Record<string, unknown> | undefined) ?? null));
    return () => {
      live = false;
    };
  }, [entity.id]);
  const rows: [string, string][] = [];
  if (entity.create_date != null) rows.push(["Taken", takenText(entity, tags)]);
  const camera = [entity.camera_make, entity.camera_model].filter(Boolean).join(" ");
  if (camera) rows.push(["Camera", camera]);
  if (entity.width && entity.height) rows.push(["Size", `${entity.width} × ${entity.height}`]);
  rows.push(["File", `${entity.original_filename ?? "—"} · ${bytes(entity.file_size)}${entity.mime_type ? ` · ${entity.mime_type}` : ""}`]);
  if (entity.duration) rows.push(["Duration", duration(entity.duration)]);
  if (entity.latitude != null && entity.longitude != null) {
    rows.push(["Location", `${entity.latitude.toFixed(5)}, ${entity.longitude.toFixed(5)}`]);
  }
  if (entity.added_date) rows.push(["Added", fullDate(entity.added_date)]);
  return (
    <section>
      <h3>Details</h3>
      <dl className="details">
        {rows.map(([k, v]) => (
          <div key={k}><dt>{k}</dt><dd>{v}</dd></div>
        ))}
      </dl>
      {entity.latitude != null && entity.longitude != null && (
        <a href={`https://www.openstreetmap.org/?mlat=${entity.latitude}&mlon=${entity.longitude}#map=15/${entity.latitude}/${entity.longitude}`}
          target="_blank" rel="noreferrer">Show on a map</a>
      )}
    </section>
  );
}

interface PersonRef {
  id?: number;
  person_id?: number;
  name?: string | null;
}

/** Labels and people; reloaded every few seconds while the analysis is still running. */
function AnalysisPanel({ id }: { id: number }) {
  const [analysis, setAnalysis] = useState<(Analysis & { people?: PersonRef[] }) | null | "none">(null);
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    setAnalysis(null);
    const load = () =>
      void inference.GET("/entity/{media_store_id}/analysis", { params: { path: { media_store_id: id } } })
        .then(({ data }) => {
          if (!live) return;
          setAnalysis(data ?? "none");
          const pending = !data || data.jobs.some((j) => j.status === "pending" || j.status === "processing");
          if (pending) timer = window.setTimeout(load, 3000);
        });
    load();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [id]);
  if (analysis === null) return null;
  if (analysis === "none") return <section><h3>Labels</h3><p className="muted">Not analysed yet.</p></section>;
  const pending = analysis.jobs.some((j) => j.status === "pending" || j.status === "processing");
  const people = analysis.people ?? [];
  return (
    <section>
      <h3>Labels</h3>
      {analysis.labels.length ? (
        <ul className="chips">
          {analysis.labels.map((l) => (
            <li key={l.label}><Link to={`/search?q=${encodeURIComponent(l.label)}`}>{l.label}</Link></li>
          ))}
        </ul>
      ) : (
        <p className="muted">{pending ? "Analysis in progress…" : "No labels."}</p>
      )}
      <h3>People</h3>
      {people.length > 0 ? (
        <ul className="chips">
          {people.map((p) => {
            const pid = p.id;
            return <li key={pid}><Link to={`/people/${pid}`}>{p.name || "Unnamed person"}</Link></li>;
          })}
        </ul>
      ) : (
        <p className="muted">
          {analysis.faces.length ? `${analysis.faces.length} face${analysis.faces.length > 1 ? "s" : ""} found` : pending ? "Analysis in progress…" : "No faces found."}
        </p>
      )}
    </section>
  );
}

function AlbumPicker({ entity, onMove }: { entity: Entity; onMove: (parent: number | null) => void }) {
  const albums = useAlbums();
  const [target, setTarget] = useState("");
  const location = useLocation();
  const current = albums.find((a) => a.id === entity.parent_id);
  return (
    <section>
      <h3>Album</h3>
      {current ? (
        <p>
          In <Link to={`/albums/${current.id}${location.search}`}>{current.label}</Link>{" "}
          <button type="button" className="small" onClick={() => onMove(null)}>Remove from album</button>
        </p>
      ) : (
        <p className="muted">Not in an album.</p>
      )}
      <form className="inline" onSubmit={(e) => { e.preventDefault(); if (target) onMove(Number(target)); }}>
        <label>
          Add to album
          <select value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">Choose…</option>
            {albums.map((a) => (
              <option key={a.id} value={a.id}>{a.path}</option>
            ))}
          </select>
        </label>
        <button type="submit" className="small" disabled={!target}>Move</button>
      </form>
    </section>
  );
}

function Versions({ entity, onRestored }: { entity: Entity; onRestored: (e: Entity) => void }) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const id = entity.id;
  const load = useCallback(async () => {
    const { data } = await store.GET("/entity/{entity_id}/versions", { params: { path: { entity_id: id } } });
    setVersions(data ?? []);
  }, [id]);
  useEffect(() => {
    void load();
  }, [load, entity.updated_date]);
  if (!versions || versions.length < 2) return null;
  const latest = versions.reduce((m, v) => Math.max(m, v.version), 0);
  async function restore(n: number) {
    const { data } = await store.POST("/entity/{entity_id}/versions/{number}/restore", {
      params: { path: { entity_id: id, number: n } },
    });
    if (data) onRestored(data);
  }
  return (
    <section>
      <h3>Versions</h3>
      <ol className="versions">
        {[...versions].reverse().map((v) => (
          <li key={v.version}>
            <span>
              Version {v.version}
              {v.updated_date ? ` · ${new Date(v.updated_date).toLocaleString()}` : ""}
              {v.changed_fields.length ? ` · ${v.changed_fields.join(", ")}` : ` · ${v.operation}`}
            </span>
            {v.version === latest ? (
              <span className="muted"> (current)</span>
            ) : (
              <button type="button" className="small" onClick={() => void restore(v.version)}>Restore version {v.version}</button>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
