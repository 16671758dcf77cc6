const monthFmt = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" });
const dayFmt = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
});
const fullFmt = new Intl.DateTimeFormat(undefined, {
  dateStyle: "full", timeStyle: "medium", timeZone: "UTC",
});

/** "2024-05" → "May 2024" */
export function monthTitle(key: string): string {
  if (key === "undated") return "No date";
  const [y, m] = key.split("-").map(Number);
  return monthFmt.format(Date.UTC(y, m - 1, 1));
}

export function monthKey(ms: number | null | undefined): string {
  if (ms == null) return "undated";
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

export function dayKey(ms: number | null | undefined): string {
  if (ms == null) return "undated";
  return new Date(ms).toISOString().slice(0, 10);
}

export function dayTitle(key: string): string {
  if (key === "undated") return "No date";
  return dayFmt.format(Date.parse(`${key}T00:00:00Z`));
}

export function fullDate(ms: number): string {
  return fullFmt.format(ms);
}

export function bytes(n: number | null | undefined): string {
  if (n == null) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function duration(s: number | null | undefined): string {
  if (s == null) return "";
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, "0")}`;
}
