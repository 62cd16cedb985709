// JSON as the supervisor reads it: documents whose sections must have a shape.

/** A plain JSON object (not null, not an array): what a parsed document's sections must be. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
