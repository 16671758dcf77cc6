// Justified rows: every photo keeps its aspect ratio, rows fill the width at about the same height.

export interface Box {
  width: number;
  height: number;
}

export interface Placed<T> {
  item: T;
  width: number;
  height: number;
}

export function justify<T extends { w?: number | null; h?: number | null }>(
  items: T[],
  containerWidth: number,
  targetHeight: number,
  gap: number,
): Placed<T>[][] {
  const rows: Placed<T>[][] = [];
  let row: T[] = [];
  let ratioSum = 0;
  const ratio = (t: T) => {
    const r = t.w && t.h ? t.w / t.h : 1;
    return Math.min(Math.max(r, 0.4), 3);
  };
  for (const item of items) {
    row.push(item);
    ratioSum += ratio(item);
    const fullHeight = (containerWidth - gap * (row.length - 1)) / ratioSum;
    if (fullHeight <= targetHeight) {
      rows.push(row.map((t) => ({ item: t, height: fullHeight, width: fullHeight * ratio(t) })));
      row = [];
      ratioSum = 0;
    }
  }
  if (row.length) {
    const h = Math.min(targetHeight, (containerWidth - gap * (row.length - 1)) / ratioSum);
    rows.push(row.map((t) => ({ item: t, height: h, width: h * ratio(t) })));
  }
  return rows;
}

/** Height of `count` items laid out before their sizes are known (for off-screen sections). */
export function estimateHeight(count: number, containerWidth: number, targetHeight: number, gap: number): number {
  const perRow = Math.max(1, Math.floor(containerWidth / (targetHeight * 1.3)));
  return Math.ceil(count / perRow) * (targetHeight + gap);
}
