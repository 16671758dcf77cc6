import { entityName, type Entity } from "../api/client";
import type { GridItem } from "../components/Thumb";

/** An entity as a grid item; the thumbnail URL carries the content token (immutable caching). */
export function toItem(e: Entity): GridItem {
  return {
    id: e.id,
    w: e.width,
    h: e.height,
    alt: entityName(e),
    thumbhash: e.thumbhash,
    v: e.token,
    video: e.type === "video",
    seconds: e.duration,
    date: e.create_date ?? e.added_date,
  };
}
