import { useLayoutEffect, useRef, useState, type RefObject } from "react";
import { justify } from "../lib/layout";
import { Thumb, type GridItem } from "./Thumb";

export const GAP = 4;

export function useWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const obs = new ResizeObserver(() => setWidth(el.clientWidth));
    obs.observe(el);
    return () => obs.disconnect();
  }, [ref]);
  return width;
}

export function targetRowHeight(width: number): number {
  return width < 600 ? 120 : width < 1000 ? 170 : 220;
}

/** Justified rows of thumbnails; widths come with the items so nothing jumps when images load. */
export function Grid({ items, width, onOpen, selected, onSelect }: {
  items: GridItem[];
  width: number;
  onOpen: (id: number) => void;
  selected?: Set<number>;
  onSelect?: (id: number) => void;
}) {
  if (width <= 0) return null;
  const rows = justify(items, width, targetRowHeight(width), GAP);
  return (
    <div className="grid">
      {rows.map((row, i) => (
        <div className="grid-row" key={i} style={{ gap: GAP, marginBottom: GAP }}>
          {row.map((p) => (
            <Thumb key={p.item.id} item={p.item} width={p.width} height={p.height} onOpen={onOpen}
              selected={selected?.has(p.item.id)} onSelect={onSelect} />
          ))}
        </div>
      ))}
    </div>
  );
}

/** A grid that measures its own width (for pages with one list of items). */
export function AutoGrid(props: {
  items: GridItem[];
  onOpen: (id: number) => void;
  selected?: Set<number>;
  onSelect?: (id: number) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const width = useWidth(ref);
  return (
    <div ref={ref} className="grid-host">
      <Grid {...props} width={width} />
    </div>
  );
}
