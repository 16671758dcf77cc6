import { useMemo, useState } from "react";
import { thumbHashToDataURL } from "thumbhash";
import { media } from "../api/client";
import { duration } from "../lib/format";

export interface GridItem {
  id: number;
  w?: number | null;
  h?: number | null;
  alt: string;
  thumbhash?: string | null;
  v?: string | number | null;
  video?: boolean;
  seconds?: number | null;
  date?: number | null;
}

function placeholder(hash: string | null | undefined): string | undefined {
  if (!hash) return undefined;
  try {
    const bin = atob(hash.replace(/-/g, "+").replace(/_/g, "/"));
    return thumbHashToDataURL(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

export function Thumb({ item, width, height, onOpen, selected, onSelect }: {
  item: GridItem;
  width: number;
  height: number;
  onOpen: (id: number) => void;
  selected?: boolean;
  onSelect?: (id: number) => void;
}) {
  const [loaded, setLoaded] = useState(false);
  const bg = useMemo(() => placeholder(item.thumbhash), [item.thumbhash]);
  return (
    <div className={`thumb${selected ? " selected" : ""}`} style={{ width, height }}>
      <button
        type="button"
        className="thumb-open"
        aria-label={`Open ${item.alt}`}
        onClick={() => onOpen(item.id)}
        style={bg ? { backgroundImage: `url(${bg})` } : undefined}
      >
        <img
          src={media.thumbnail(item.id, item.v)}
          alt={item.alt}
          loading="lazy"
          decoding="async"
          draggable={false}
          className={loaded ? "loaded" : ""}
          onLoad={() => setLoaded(true)}
        />
        {item.video && <span className="badge">▶ {duration(item.seconds)}</span>}
      </button>
      {onSelect && (
        <input
          type="checkbox"
          className="thumb-select"
          aria-label={`Select ${item.alt}`}
          checked={!!selected}
          onChange={() => onSelect(item.id)}
        />
      )}
    </div>
  );
}
