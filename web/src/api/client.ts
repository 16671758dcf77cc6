// Typed clients for the three services, from their OpenAPI documents (src/api/generated).
import createClient from "openapi-fetch";
import type { paths as AuthPaths, components as AuthComponents } from "./generated/auth";
import type { paths as InferencePaths, components as InferenceComponents } from "./generated/inference";
import type { paths as StorePaths, components as StoreComponents } from "./generated/store";
import { authFetch } from "./session";

const fetch = (input: Request) => authFetch(input);

export const auth = createClient<AuthPaths>({ baseUrl: "/api/auth", fetch });
export const store = createClient<StorePaths>({ baseUrl: "/api/store", fetch });
export const inference = createClient<InferencePaths>({ baseUrl: "/api/inference", fetch });

export type Entity = StoreComponents["schemas"]["EntityRead"];
export type Version = StoreComponents["schemas"]["VersionRead"];
export type DuplicateGroup = StoreComponents["schemas"]["DuplicateGroup"];
export type User = AuthComponents["schemas"]["UserRead"];
export type Permission = string; // any well-formed name can be granted; the known ones: GET /auth/permissions
export type Analysis = InferenceComponents["schemas"]["Analysis"];
export type Job = InferenceComponents["schemas"]["JobResponse"];
export type Stats = InferenceComponents["schemas"]["StatsResponse"];

export const PERMISSIONS: Permission[] = [
  "media_store_read",
  "media_store_write",
  "ai_inference_support",
  "ai_inference_worker",
];

/** A readable message from an error body ({"detail": ...}). */
export function errorText(error: unknown, fallback = "Something went wrong."): string {
  if (error && typeof error === "object" && "detail" in error) {
    const detail = (error as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d: { msg?: string }) => d.msg ?? "").join("; ");
  }
  return fallback;
}

/** Untyped JSON call for routes that may not exist on this server (404 → null). */
export async function optionalJson<T>(url: string, init: RequestInit = {}): Promise<T | null> {
  const res = await authFetch(new Request(url, init));
  if (res.status === 404 || res.status === 405) return null;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export const media = {
  thumbnail: (id: number, v?: string | number | null) =>
    `/api/store/entity/${id}/thumbnail${v != null ? `?v=${encodeURIComponent(String(v))}` : ""}`,
  preview: (id: number, v?: string | number | null) =>
    `/api/store/entity/${id}/preview${v != null ? `?v=${encodeURIComponent(String(v))}` : ""}`,
  file: (id: number) => `/api/store/entity/${id}/file`,
};

export function entityName(e: Pick<Entity, "label" | "original_filename" | "id">): string {
  return e.label || e.original_filename || `Item ${e.id}`;
}
