import { useEffect, useMemo, useRef, useState } from "react";
import { dayKey, dayTitle } from "../lib/format";
import { justify, type Placed } from "../lib/layout";
import { GAP, targetRowHeight } from "./Grid";
import { Thumb, type GridItem } from "./Thumb";

const HEADING = 36; // a day heading's height
const MARGIN = 1500; // render rows this far outside the viewport

type Block =
  | { kind: "day"; key: string; x: number; y: number }
  | { kind: "row"; key: string; x: number; y: number; h: number; row: Placed<GridItem>[] };

function byDay(items: GridItem[]): Map<string, GridItem[]> {
  const days = new Map<string, GridItem[]>();
  for (const it of items) {
    const k = dayKey(it.date);
    const list = days.get(k);
    if (list) list.push(it);
    else days.set(k, [it]);
  }
  return days;
}

/**
 * Day headings and justified rows, positioned in advance (the layout needs only widths and
 * heights). Days with few photos sit side by side on one line, as in Google Photos and Immich;
 * a day with more than a line gets full-width justified rows.
 */
export function layoutDays(items: GridItem[], width: number): { blocks: Block[]; height: number } {
  const target = targetRowHeight(width);
  const blocks: Block[] = [];
  let y = 0; // top of the current line
  let x = 0; // where the next small day goes on the current line
  let lineH = 0;
  const newLine = () => {
    if (lineH) y += lineH + GAP;
    x = 0;
    lineH = 0;
  };
  for (const [day, list] of byDay(items)) {
    const rows = justify(list, width, target, GAP);
    const single = rows.length === 1 && rows[0][0].height >= target - 0.5;
    if (single) {
      const natural = rows[0].reduce((s, p) => s + p.width, 0) + GAP * (rows[0].length - 1);
      if (x > 0 && x + GAP * 4 + natural > width) newLine();
      const left = x > 0 ? x + GAP * 4 : 0;
      blocks.push({ kind: "day", key: day, x: left, y });
      blocks.push({ kind: "row", key: `${day}-0`, x: left, y: y + HEADING, h: target, row: rows[0] });
      x = left + natural;
      lineH = Math.max(lineH, HEADING + target);
      continue;
    }
    newLine();
    blocks.push({ kind: "day", key: day, x: 0, y });
    y += HEADING;
    rows.forEach((row, i) => {
      const h = row[0]?.height ?? 0;
      blocks.push({ kind: "row", key: `${day}-${i}`, x: 0, y, h, row });
      y += h + GAP;
    });
  }
  newLine();
  return { blocks, height: y };
}

export interface Selection {
  selected: Set<number>;
  toggle: (id: number) => void;
}

export function DayRows({ items, width, onOpen, selection }: {
  items: GridItem[];
  width: number;
  onOpen: (id: number) => void;
  selection?: Selection;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const { blocks, height } = useMemo(() => layoutDays(items, width), [items, width]);
  const [range, setRange] = useState<[number, number]>([0, window.innerHeight + MARGIN]);

  useEffect(() => {
    let frame = 0;
    const update = () => {
      frame = 0;
      const top = ref.current?.getBoundingClientRect().top ?? 0;
      const next: [number, number] = [-top - MARGIN, -top + window.innerHeight + MARGIN];
      setRange((r) => (Math.abs(r[0] - next[0]) < 200 && Math.abs(r[1] - next[1]) < 200 ? r : next));
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    update();
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);
    return () => {
      window.removeEventListener("scroll", schedule);
      window.removeEventListener("resize", schedule);
      cancelAnimationFrame(frame);
    };
  }, []);

  return (
    <div ref={ref} className="day-rows" style={{ height }}>
      {blocks.map((b) => {
        if (b.kind === "day") {
          return b.y >= range[0] - HEADING && b.y <= range[1] ? (
            <h3 key={b.key} className="day-title" style={{ top: b.y, left: b.x }}>{dayTitle(b.key)}</h3>
          ) : null;
        }
        if (b.y + b.h < range[0] || b.y > range[1]) return null;
        return (
          <div key={b.key} className="grid-row" style={{ top: b.y, left: b.x, gap: GAP }}>
            {b.row.map((p) => (
              <Thumb key={p.item.id} item={p.item} width={p.width} height={p.height} onOpen={onOpen}
                selected={selection?.selected.has(p.item.id)} onSelect={selection?.toggle} />
            ))}
          </div>
        );
      })}
    </div>
  );
}
