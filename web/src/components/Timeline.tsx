import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { store } from "../api/client";
import type { components } from "../api/generated/store";
import { useLive } from "../live";
import { monthTitle } from "../lib/format";
import { estimateHeight } from "../lib/layout";
import { CHANGED } from "../upload";
import { useViewer, type ViewerEntry } from "../viewer-context";
import { DayRows, type Selection } from "./DayRows";
import { SelectionBar } from "./SelectionBar";
import { GAP, targetRowHeight, useWidth } from "./Grid";
import type { GridItem } from "./Thumb";

type Bucket = components["schemas"]["TimelineBucket"];
type BucketItems = components["schemas"]["BucketItems"];
export interface TimelineFilter {
  parent_id?: number;
  is_deleted?: boolean;
}

function itemsOf(b: BucketItems): GridItem[] {
  return b.ids.map((id, i) => ({
    id,
    w: b.width[i],
    h: b.height[i],
    alt: b.label[i] || b.original_filename[i] || `Item ${id}`,
    thumbhash: b.thumbhash[i],
    v: b.token[i],
    video: b.type[i] === "video",
    seconds: b.duration[i],
    date: b.create_date[i],
  }));
}

const NEAR = "1200px 0px"; // load a month this far before it scrolls into view

/**
 * The library by month (newest first). Only the months near the viewport are fetched and
 * rendered; the others are empty boxes of their (estimated or measured) height, and their items
 * are dropped from memory, so 100k photos cost a few hundred DOM nodes.
 */
export default function Timeline({ filter, empty }: { filter: TimelineFilter; empty: ReactNode }) {
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const toggle = useCallback((id: number) => setSelected((s) => {
    const next = new Set(s);
    if (!next.delete(id)) next.add(id);
    return next;
  }), []);
  const selection = useMemo(() => ({ selected, toggle }), [selected, toggle]);
  const [buckets, setBuckets] = useState<Bucket[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState<Map<string, GridItem[]>>(new Map());
  const [visible, setVisible] = useState<Set<string>>(new Set());
  const heights = useRef(new Map<string, number>());
  const hostRef = useRef<HTMLDivElement>(null);
  const width = useWidth(hostRef);
  const viewer = useViewer();
  const key = JSON.stringify(filter);
  const query = useMemo(() => JSON.parse(key) as TimelineFilter, [key]);

  const loadBuckets = useCallback(async () => {
    const { data, error: err } = await store.GET("/timeline/buckets", { params: { query } });
    if (err || !data) setError("The library cannot be loaded right now.");
    else {
      setError(null);
      setBuckets(data.buckets);
    }
  }, [query]);

  const loadMonth = useCallback(async (month: string) => {
    const { data } = await store.GET("/timeline/bucket", { params: { query: { ...query, month } } });
    if (data) setLoaded((m) => new Map(m).set(month, itemsOf(data)));
  }, [query]);

  useEffect(() => {
    setBuckets(null);
    setLoaded(new Map());
    void loadBuckets();
  }, [loadBuckets]);

  // Fetch months that came near the viewport; forget those that went far away.
  useEffect(() => {
    for (const month of visible) if (!loaded.has(month)) void loadMonth(month);
    const far = [...loaded.keys()].filter((m) => !visible.has(m));
    if (far.length > 8) {
      setLoaded((m) => {
        const next = new Map(m);
        far.forEach((k) => next.delete(k));
        return next;
      });
    }
  }, [visible, loaded, loadMonth]);

  // Live: new uploads (here or elsewhere) show up without a reload.
  const refreshTimer = useRef<number | undefined>(undefined);
  const refreshAll = useCallback(() => {
    window.clearTimeout(refreshTimer.current);
    refreshTimer.current = window.setTimeout(() => {
      void loadBuckets();
      setLoaded((m) => {
        for (const month of m.keys()) void loadMonth(month);
        return m;
      });
      setVisible((v) => new Set(v));
    }, 400);
  }, [loadBuckets, loadMonth]);
  useLive(refreshAll);
  useEffect(() => {
    window.addEventListener(CHANGED, refreshAll);
    return () => window.removeEventListener(CHANGED, refreshAll);
  }, [refreshAll]);

  // Which sections are near the viewport.
  useEffect(() => {
    const host = hostRef.current;
    if (!host || !buckets) return;
    const obs = new IntersectionObserver((entries) => {
      setVisible((prev) => {
        const next = new Set(prev);
        for (const e of entries) {
          const m = (e.target as HTMLElement).dataset.month!;
          if (e.isIntersecting) next.add(m);
          else next.delete(m);
        }
        return next;
      });
    }, { rootMargin: NEAR });
    host.querySelectorAll<HTMLElement>("section[data-month]").forEach((s) => obs.observe(s));
    return () => obs.disconnect();
  }, [buckets]);

  const order = useMemo(() => {
    const entries: ViewerEntry[] = [];
    for (const b of buckets ?? []) for (const it of loaded.get(b.month) ?? []) entries.push(it);
    return entries;
  }, [buckets, loaded]);
  const open = (id: number) => viewer.open(order, id);

  const years = useMemo(() => {
    const ys: string[] = [];
    for (const b of buckets ?? []) {
      const y = b.month.slice(0, 4);
      if (ys[ys.length - 1] !== y) ys.push(y);
    }
    return ys;
  }, [buckets]);
  // The year at the top of the screen, marked in the scrubber.
  const [currentYear, setCurrentYear] = useState<string | null>(null);
  useEffect(() => {
    let frame = 0;
    const update = () => {
      frame = 0;
      const sections = hostRef.current?.querySelectorAll<HTMLElement>("section[data-month]") ?? [];
      for (const s of sections) {
        if (s.getBoundingClientRect().bottom > 120) {
          setCurrentYear(s.dataset.month!.slice(0, 4));
          return;
        }
      }
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    update();
    window.addEventListener("scroll", schedule, { passive: true });
    return () => {
      window.removeEventListener("scroll", schedule);
      cancelAnimationFrame(frame);
    };
  }, [buckets]);

  const jump = (year: string) => {
    const target = hostRef.current?.querySelector<HTMLElement>(`section[data-month^="${year}-"]`);
    target?.scrollIntoView({ block: "start" });
    target?.querySelector("h2")?.focus();
  };

  if (error) return <p role="alert" className="error">{error}</p>;
  return (
    <div className={`timeline${selected.size ? " selecting" : ""}`}>
      {selected.size > 0 && <SelectionBar ids={[...selected]} filter={filter} onDone={() => setSelected(new Set())} />}
      <div ref={hostRef} className="timeline-sections" aria-busy={buckets === null}>
        {buckets === null && <p className="muted" role="status">Loading…</p>}
        {buckets?.length === 0 && empty}
        {buckets?.map((b) => (
          <MonthSection key={b.month} bucket={b} items={visible.has(b.month) ? loaded.get(b.month) : undefined}
            width={width} heights={heights.current} onOpen={open} selection={selection} />
        ))}
      </div>
      {years.length > 1 && (
        <nav className="scrubber" aria-label="Jump to year">
          {years.map((y) => (
            <button key={y} type="button" aria-current={y === currentYear ? "true" : undefined} onClick={() => jump(y)}>{y}</button>
          ))}
        </nav>
      )}
    </div>
  );
}

function MonthSection({ bucket, items, width, heights, onOpen, selection }: {
  selection: Selection;
  bucket: Bucket;
  items: GridItem[] | undefined;
  width: number;
  heights: Map<string, number>;
  onOpen: (id: number) => void;
}) {
  const body = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    // remembered so the month keeps its height when it scrolls far away and is dropped
    if (items && body.current) heights.set(`${bucket.month}@${width}`, body.current.offsetHeight);
  });
  const rowH = targetRowHeight(width);
  const height = heights.get(`${bucket.month}@${width}`) ?? estimateHeight(bucket.count, width || 1000, rowH, GAP) + 40;
  const titleId = `month-${bucket.month}`;
  return (
    <section data-month={bucket.month} aria-labelledby={titleId} className="month">
      <h2 id={titleId} tabIndex={-1}>
        {monthTitle(bucket.month)} <span className="count">{bucket.count}</span>
      </h2>
      {items ? (
        <div ref={body}>
          <DayRows items={items} width={width} onOpen={onOpen} selection={selection} />
        </div>
      ) : (
        <div className="month-placeholder" style={{ height }} aria-hidden="true" />
      )}
    </section>
  );
}
