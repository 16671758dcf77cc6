import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { optionalJson, store, type Entity } from "../api/client";
import { AutoGrid } from "../components/Grid";
import { toItem } from "../lib/items";
import { useViewer } from "../viewer-context";

// The people feature (issue 12) is optional on the inference service: when /people answers 404
// the pages say so. Its shapes are read defensively (the generated types do not have it yet).
export interface Person {
  id: number;
  name?: string | null;
  face_count?: number;
  media_count?: number;
  cover_face_id?: string | null;
  hidden?: boolean;
}
interface Face {
  face_id: string;
  media_store_id: number;
}
type Paged<T> = T[] | { items: T[] };
const itemsOf = <T,>(r: Paged<T>): T[] => (Array.isArray(r) ? r : r.items);
const json = (method: string, body: unknown): RequestInit => ({
  method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
});
export const personName = (p: Person) => p.name || `Unnamed person ${p.id}`;

export async function searchPeople(q: string): Promise<Person[]> {
  try {
    const r = await optionalJson<Paged<Person>>(`/api/inference/search/people?q=${encodeURIComponent(q)}`);
    return r ? itemsOf(r) : [];
  } catch {
    return [];
  }
}

function Cover({ person }: { person: Person }) {
  return person.cover_face_id ? (
    <img className="face" src={`/api/inference/faces/${person.cover_face_id}/crop`} alt={personName(person)} loading="lazy" />
  ) : (
    <span className="face face-empty" aria-hidden="true">☺</span>
  );
}

export function PeopleList({ people }: { people: Person[] }) {
  return (
    <ul className="people">
      {people.map((p) => (
        <li key={p.id}>
          <Link to={`/people/${p.id}`} className="person-card">
            <Cover person={p} />
            <span className="album-name">{personName(p)}</span>
            {p.media_count != null && <span className="muted">{p.media_count} photos</span>}
          </Link>
        </li>
      ))}
    </ul>
  );
}

export default function People() {
  const [people, setPeople] = useState<Person[] | null | "unavailable">(null);
  useEffect(() => {
    optionalJson<Paged<Person>>("/api/inference/people?page_size=100")
      .then((r) => setPeople(r === null ? "unavailable" : itemsOf(r).filter((p) => !p.hidden)))
      .catch(() => setPeople("unavailable"));
  }, []);
  return (
    <div className="page">
      <h1>People</h1>
      {people === null && <p className="muted" role="status">Loading…</p>}
      {people === "unavailable" && <p className="muted">People are not available on this server yet.</p>}
      {Array.isArray(people) && (people.length ? <PeopleList people={people} /> : <p className="muted">No people found yet. Faces are grouped as photos are analysed.</p>)}
    </div>
  );
}

export function PersonPage() {
  const id = Number(useParams().id);
  const [person, setPerson] = useState<Person | null>(null);
  const [others, setOthers] = useState<Person[]>([]);
  const [media, setMedia] = useState<Entity[]>([]);
  const [faces, setFaces] = useState<Face[]>([]);
  const [name, setName] = useState("");
  const [mergeId, setMergeId] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const viewer = useViewer();

  const load = useCallback(async () => {
    try {
      const p = await optionalJson<Person>(`/api/inference/people/${id}`);
      setPerson(p);
      setName(p?.name ?? "");
      const [m, f, all] = await Promise.all([
        optionalJson<Paged<{ media_store_id: number }>>(`/api/inference/people/${id}/media?page_size=100`),
        optionalJson<Paged<Face>>(`/api/inference/people/${id}/faces?page_size=100`),
        optionalJson<Paged<Person>>("/api/inference/people?page_size=100"),
      ]);
      setFaces(f ? itemsOf(f) : []);
      setOthers(all ? itemsOf(all).filter((x) => x.id !== id) : []);
      const ids = m ? itemsOf(m).map((x) => x.media_store_id) : [];
      const found = await Promise.all(ids.map((e) => store.GET("/entity/{entity_id}", { params: { path: { entity_id: e } } }).then((r) => r.data)));
      setMedia(found.filter((e): e is Entity => !!e && !e.is_deleted));
    } catch {
      setNotice("This person cannot be loaded.");
    }
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);

  async function act(url: string, init: RequestInit, message: string) {
    try {
      await optionalJson(url, init);
      setNotice(message);
      void load();
    } catch {
      setNotice("That did not work.");
    }
  }
  const rename = (e: FormEvent) => {
    e.preventDefault();
    void act(`/api/inference/people/${id}`, json("PATCH", { name: name.trim() || null }), "Name saved.");
  };
  const merge = (e: FormEvent) => {
    e.preventDefault();
    if (mergeId) void act(`/api/inference/people/${id}/merge`, json("POST", { person_ids: [Number(mergeId)] }), "Merged.");
  };
  const items = media.map(toItem);
  if (!person) return <div className="page"><h1>Person</h1><p className="muted">{notice ?? "Loading…"}</p></div>;
  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="crumbs"><Link to="/people">People</Link></nav>
      <div className="page-head"><h1>{personName(person)}</h1></div>
      {notice && <p role="status" className="notice">{notice}</p>}
      <form className="inline" onSubmit={rename}>
        <label>Name<input value={name} maxLength={255} onChange={(e) => setName(e.target.value)} /></label>
        <button type="submit">Save name</button>
      </form>
      {others.length > 0 && (
        <form className="inline" onSubmit={merge}>
          <label>
            Merge with
            <select value={mergeId} onChange={(e) => setMergeId(e.target.value)} required>
              <option value="">Choose…</option>
              {others.map((o) => <option key={o.id} value={o.id}>{personName(o)}</option>)}
            </select>
          </label>
          <button type="submit">Merge</button>
        </form>
      )}
      {faces.length > 0 && (
        <section>
          <h2>Faces</h2>
          <ul className="faces">
            {faces.map((f) => (
              <li key={f.face_id}>
                <img className="face" src={`/api/inference/faces/${f.face_id}/crop`} alt={`Face in item ${f.media_store_id}`} loading="lazy" />
                <button type="button" className="small" onClick={() => void act(`/api/inference/faces/${f.face_id}/person`, json("PUT", { person_id: null }), "Face removed.")}>
                  Not {personName(person)}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <h2>Photos</h2>
      <AutoGrid items={items} onOpen={(x) => viewer.open(items, x)} />
    </div>
  );
}
