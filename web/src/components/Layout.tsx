import { useEffect, useRef, useState, type DragEvent, type FormEvent } from "react";
import { NavLink, Outlet, useLocation, useNavigate, useSearchParams } from "react-router";
import { useAuth } from "../auth";
import { droppedFiles, useUpload } from "../upload";
import Viewer from "../pages/Viewer";

export function UploadButtons({ parentId }: { parentId?: number | null }) {
  const { add } = useUpload();
  const folder = useRef<HTMLInputElement>(null);
  useEffect(() => {
    folder.current?.setAttribute("webkitdirectory", "");
  }, []);
  return (
    <div className="upload-buttons">
      <label className="button primary file-button">
        <span aria-hidden="true">⬆</span> Upload
        <input type="file" multiple accept="image/*,video/*" className="visually-hidden" aria-label="Upload"
          onChange={(e) => { add(Array.from(e.target.files ?? []), parentId); e.target.value = ""; }} />
      </label>
      <label className="button file-button hide-narrow">
        Upload folder
        <input ref={folder} type="file" multiple className="visually-hidden" aria-label="Upload folder"
          onChange={(e) => { add(Array.from(e.target.files ?? []), parentId); e.target.value = ""; }} />
      </label>
    </div>
  );
}

function SearchBox() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [q, setQ] = useState(params.get("q") ?? "");
  function submit(e: FormEvent) {
    e.preventDefault();
    if (q.trim()) navigate(`/search?q=${encodeURIComponent(q.trim())}`);
  }
  return (
    <form role="search" className="search-box" onSubmit={submit}>
      <label className="visually-hidden" htmlFor="global-search">Search</label>
      <input id="global-search" type="search" placeholder="Search labels, file names, people…" value={q}
        onChange={(e) => setQ(e.target.value)} />
    </form>
  );
}

export default function Layout() {
  const { me, signOut } = useAuth();
  const { add } = useUpload();
  const [params] = useSearchParams();
  const [dragging, setDragging] = useState(false);
  const photo = Number(params.get("photo")) || null;
  const location = useLocation();
  const album = Number(/^\/albums\/(\d+)/.exec(location.pathname)?.[1]) || null; // drops land in the open album

  async function onDrop(e: DragEvent) {
    e.preventDefault();
    setDragging(false);
    add(await droppedFiles(e.dataTransfer), album);
  }
  const links: [string, string][] = [
    ["/", "Photos"], ["/albums", "Albums"], ["/people", "People"], ["/duplicates", "Duplicates"], ["/trash", "Trash"],
  ];
  if (me?.is_admin) links.push(["/admin", "Admin"]);

  return (
    <div className="app" onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
      onDragLeave={(e) => { if (e.currentTarget === e.target) setDragging(false); }} onDrop={onDrop}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="MediaNest home"><span className="logo" aria-hidden="true">◐</span> <span className="hide-narrow">MediaNest</span></NavLink>
        <SearchBox />
        <UploadButtons />
        <div className="account">
          <span className="muted hide-narrow">{me?.username}</span>
          <button type="button" className="ghost" onClick={() => void signOut()}>Log out</button>
        </div>
      </header>
      <nav aria-label="Main" className="mainnav">
        {links.map(([to, label]) => (
          <NavLink key={to} to={to} end={to === "/"}>{label}</NavLink>
        ))}
      </nav>
      <main id="main" className="content">
        <Outlet />
      </main>
      {dragging && <div className="dropzone" aria-hidden="true"><p>Drop photos, videos or folders to upload</p></div>}
      {photo && <Viewer id={photo} />}
    </div>
  );
}
