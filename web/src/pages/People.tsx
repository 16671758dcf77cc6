import { useEffect, useState } from "react";
import { optionalJson } from "../api/client";

// The people feature is optional on the inference service: without /people the page says so.
interface Person {
  id?: number | string;
  person_id?: number | string;
  name?: string | null;
  face_count?: number;
}

export default function People() {
  const [people, setPeople] = useState<Person[] | null | "unavailable">(null);
  useEffect(() => {
    optionalJson<Person[] | { items: Person[] }>("/api/inference/people")
      .then((r) => setPeople(r === null ? "unavailable" : Array.isArray(r) ? r : r.items))
      .catch(() => setPeople("unavailable"));
  }, []);
  return (
    <div className="page">
      <h1>People</h1>
      {people === null && <p className="muted" role="status">Loading…</p>}
      {people === "unavailable" && <p className="muted">People are not available on this server yet.</p>}
      {Array.isArray(people) && (people.length ? (
        <ul className="album-cards">
          {people.map((p, i) => (
            <li key={String(p.id ?? p.person_id ?? i)} className="album-card">
              <span className="album-name">{p.name || "Unnamed person"}</span>
              {p.face_count != null && <span className="muted">{p.face_count} photos</span>}
            </li>
          ))}
        </ul>
      ) : <p className="muted">No people found yet.</p>)}
    </div>
  );
}
