import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { errorText, media, store, type Entity } from "../api/client";
import { UploadButtons } from "../components/Layout";
import Timeline from "../components/Timeline";
import { CHANGED } from "../upload";

export interface Album {
  id: number;
  label: string;
  parent_id: number | null;
  path: string; // "Holidays / 2024 / Italy"
  count: number;
}

async function allAlbums(): Promise<Album[]> {
  const rows: Entity[] = [];
  for (let page = 1; page < 200; page += 1) {
    const { data } = await store.GET("/entity/", {
      params: { query: { is_collection: true, page, page_size: 100, order_by: "label", order: "asc" } },
    });
    if (!data) break;
    rows.push(...data.items);
    if (!data.pagination.has_next) break;
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  const path = (e: Entity, depth = 0): string => {
    const parent = e.parent_id != null ? byId.get(e.parent_id) : undefined;
    const own = e.label || `Album ${e.id}`;
    return parent && depth < 20 ? `${path(parent, depth + 1)} / ${own}` : own;
  };
  return rows
    .map((e) => ({ id: e.id, label: e.label || `Album ${e.id}`, parent_id: e.parent_id ?? null, path: path(e), count: e.children_count ?? 0 }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** Every album with its path (reloaded when something changes). */
export function useAlbums(): Album[] {
  const [albums, setAlbums] = useState<Album[]>([]);
  useEffect(() => {
    const load = () => void allAlbums().then(setAlbums);
    load();
    window.addEventListener(CHANGED, load);
    return () => window.removeEventListener(CHANGED, load);
  }, []);
  return albums;
}

const changed = () => window.dispatchEvent(new CustomEvent(CHANGED));

function NewAlbum({ parentId }: { parentId: number | null }) {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const { error: err } = await store.POST("/entity/", {
      body: { is_collection: true, label: name.trim(), ...(parentId != null ? { parent_id: parentId } : {}) },
      bodySerializer: (b) => {
        const form = new FormData();
        for (const [k, v] of Object.entries(b)) form.append(k, String(v));
        return form;
      },
    });
    if (err) setError(errorText(err));
    else {
      setName("");
      setError(null);
      changed();
    }
  }
  return (
    <form className="inline" onSubmit={submit}>
      <label>
        {parentId ? "New album inside" : "New album"}
        <input value={name} required maxLength={255} onChange={(e) => setName(e.target.value)} placeholder="Name" />
      </label>
      <button type="submit" className="primary">Create album</button>
      {error && <p role="alert" className="error">{error}</p>}
    </form>
  );
}

/** The album's newest photo as its cover (none for an empty album). */
function Cover({ album }: { album: Album }) {
  const [cover, setCover] = useState<Entity | null>(null);
  useEffect(() => {
    let live = true;
    void store.GET("/entity/", {
      params: { query: { parent_id: album.id, is_collection: false, page_size: 1, order_by: "create_date", order: "desc" } },
    }).then(({ data }) => live && setCover(data?.items[0] ?? null));
    return () => {
      live = false;
    };
  }, [album.id, album.count]);
  return cover ? (
    <img className="album-cover" src={media.thumbnail(cover.id, cover.token)} alt={`Cover of ${album.label}`} loading="lazy" />
  ) : (
    <span className="album-cover album-icon" aria-hidden="true">▦</span>
  );
}

function AlbumCards({ albums }: { albums: Album[] }) {
  if (!albums.length) return null;
  return (
    <ul className="album-cards">
      {albums.map((a) => (
        <li key={a.id}>
          <Link to={`/albums/${a.id}`} className="album-card">
            <Cover album={a} />
            <span className="album-name">{a.label}</span>
            <span className="muted">{a.count} item{a.count === 1 ? "" : "s"}</span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

export function AlbumsPage() {
  const albums = useAlbums();
  return (
    <div className="page">
      <h1>Albums</h1>
      <NewAlbum parentId={null} />
      <AlbumCards albums={albums.filter((a) => a.parent_id == null)} />
      {albums.length === 0 && <p className="muted">No albums yet.</p>}
    </div>
  );
}

export function AlbumPage() {
  const id = Number(useParams().id);
  const albums = useAlbums();
  const [album, setAlbum] = useState<Entity | null>(null);
  const [name, setName] = useState("");
  const [moveTo, setMoveTo] = useState("");
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data } = await store.GET("/entity/{entity_id}", { params: { path: { entity_id: id } } });
    setAlbum(data ?? null);
    setName(data?.label ?? "");
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);

  async function patch(body: { label?: string; parent_id?: number | null }, message: string) {
    const { data, error } = await store.PATCH("/entity/{entity_id}", { params: { path: { entity_id: id } }, body: { body } });
    setNotice(data ? message : errorText(error));
    if (data) {
      setAlbum(data);
      changed();
    }
  }

  const crumbs: Album[] = [];
  for (let a = albums.find((x) => x.id === album?.parent_id); a && crumbs.length < 20; a = albums.find((x) => x.id === a!.parent_id)) crumbs.unshift(a);
  const children = albums.filter((a) => a.parent_id === id);
  const below = new Set<number>([id]);
  for (let grew = true; grew;) {
    grew = false;
    for (const a of albums) if (a.parent_id != null && below.has(a.parent_id) && !below.has(a.id)) { below.add(a.id); grew = true; }
  }

  if (!album) return <div className="page"><h1>Album</h1><p className="muted" role="status">Loading…</p></div>;
  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/albums">Albums</Link>
        {crumbs.map((c) => <span key={c.id}> / <Link to={`/albums/${c.id}`}>{c.label}</Link></span>)}
      </nav>
      <div className="page-head">
        <h1>{album.label || `Album ${album.id}`}</h1>
        <UploadButtons parentId={id} />
      </div>
      {notice && <p role="status" className="notice">{notice}</p>}
      <details className="album-tools">
        <summary>Edit album</summary>
        <form className="inline" onSubmit={(e) => { e.preventDefault(); void patch({ label: name.trim() }, "Renamed."); }}>
          <label>Album name<input value={name} required maxLength={255} onChange={(e) => setName(e.target.value)} /></label>
          <button type="submit">Rename</button>
        </form>
        <form className="inline" onSubmit={(e) => { e.preventDefault(); void patch({ parent_id: moveTo === "root" ? null : Number(moveTo) }, "Moved."); }}>
          <label>
            Move album into
            <select value={moveTo} onChange={(e) => setMoveTo(e.target.value)} required>
              <option value="">Choose…</option>
              <option value="root">(top level)</option>
              {albums.filter((a) => !below.has(a.id)).map((a) => <option key={a.id} value={a.id}>{a.path}</option>)}
            </select>
          </label>
          <button type="submit">Move album</button>
        </form>
        <NewAlbum parentId={id} />
      </details>
      <AlbumCards albums={children} />
      <Timeline filter={{ parent_id: id }} empty={<p className="muted">This album is empty. Add photos from the viewer (“Add to album”) or upload here.</p>} />
    </div>
  );
}
