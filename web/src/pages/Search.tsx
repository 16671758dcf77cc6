import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { entityName, inference, store, type Entity } from "../api/client";
import { AutoGrid } from "../components/Grid";
import { toItem } from "../lib/items";
import { useViewer } from "../viewer-context";
import { PeopleList, searchPeople, type Person } from "./People";

async function entities(ids: number[]): Promise<Entity[]> {
  const found = await Promise.all(
    ids.map((id) => store.GET("/entity/{entity_id}", { params: { path: { entity_id: id } } }).then((r) => r.data)),
  );
  return found.filter((e): e is Entity => !!e && !e.is_deleted && !e.is_collection);
}

async function searchWords(q: string): Promise<Entity[]> {
  const [labels, names] = await Promise.all([
    inference.GET("/search/labels", { params: { query: { q, limit: 60 } } }),
    store.GET("/entity/", { params: { query: { search_query: q, is_collection: false, page_size: 100, order_by: "create_date", order: "desc" } } }),
  ]);
  const byName = names.data?.items ?? [];
  const known = new Set(byName.map((e) => e.id));
  const byLabel = await entities((labels.data?.items ?? []).map((m) => m.media_store_id).filter((id) => !known.has(id)));
  return [...byLabel, ...byName];
}

async function similar(id: number): Promise<Entity[] | null> {
  const { data } = await inference.GET("/search/similar-images", { params: { query: { media_store_id: id, limit: 60 } } });
  if (!data) return null;
  return entities(data.items.map((i) => i.media_store_id));
}

export default function Search() {
  const [params] = useSearchParams();
  const q = params.get("q")?.trim() ?? "";
  const similarTo = Number(params.get("similar")) || null;
  const [results, setResults] = useState<Entity[] | null>(null);
  const [source, setSource] = useState<Entity | null>(null);
  const [failed, setFailed] = useState(false);
  const [people, setPeople] = useState<Person[]>([]);
  const viewer = useViewer();

  useEffect(() => {
    let live = true;
    setResults(null);
    setFailed(false);
    setPeople([]);
    if (similarTo) {
      void store.GET("/entity/{entity_id}", { params: { path: { entity_id: similarTo } } }).then((r) => live && setSource(r.data ?? null));
      void similar(similarTo).then((r) => {
        if (!live) return;
        if (r === null) setFailed(true);
        setResults(r ?? []);
      });
    } else if (q) {
      void searchWords(q).then((r) => live && setResults(r));
      void searchPeople(q).then((r) => live && setPeople(r));
    } else setResults([]);
    return () => {
      live = false;
    };
  }, [q, similarTo]);

  const title = similarTo ? `More like ${source ? entityName(source) : "this"}` : q ? `Results for “${q}”` : "Search";
  const items = (results ?? []).map(toItem);
  return (
    <div className="page">
      <h1>{title}</h1>
      {!q && !similarTo && <p className="muted">Type words in the search box: things in the photos (“dog”, “beach”), file names or descriptions.</p>}
      {results === null && <p className="muted" role="status">Searching…</p>}
      {failed && <p className="muted">This item has not been analysed yet, so similar photos cannot be found.</p>}
      {results && (q || similarTo) && !failed && (
        <p className="muted" role="status">{results.length ? `${results.length} found` : "Nothing found."} {similarTo && <Link to={`?photo=${similarTo}`}>Open the original</Link>}</p>
      )}
      {people.length > 0 && (
        <section aria-labelledby="people-found">
          <h2 id="people-found">People</h2>
          <PeopleList people={people} />
        </section>
      )}
      <AutoGrid items={items} onOpen={(id) => viewer.open(items, id)} />
    </div>
  );
}
