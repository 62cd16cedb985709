// What a thrown value says, in the few shapes a log line or a one-line answer needs. Anything
// can be thrown (a string, undefined), so nothing here assumes an Error.

/** The message of a thrown value: an Error's message, or the value itself as text. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    return (error as { message: string }).message;
  }
  return String(error);
}

/** The first line of a thrown value's message: a stack or a multi-line message stays out of logs. */
export function firstLine(error: unknown): string {
  return errorMessage(error).split("\n")[0] ?? "";
}

/** The errno code of a failed system call (ENOENT, EACCES), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The errno code of a failed system call, or the message when there is none. */
export function errorReason(error: unknown): string {
  return errorCode(error) ?? errorMessage(error);
}
