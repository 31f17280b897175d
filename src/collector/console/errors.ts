/** Errors of the console API: each has a stable `code` and the HTTP status it maps to. */
export class ConsoleError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): ConsoleError => new ConsoleError('BAD_REQUEST', 400, message);
export const unauthenticated = (message = 'login required'): ConsoleError => new ConsoleError('UNAUTHENTICATED', 401, message);
export const forbidden = (message = 'not allowed for this account'): ConsoleError => new ConsoleError('FORBIDDEN', 403, message);
export const notFound = (message: string): ConsoleError => new ConsoleError('NOT_FOUND', 404, message);
export const conflict = (message: string): ConsoleError => new ConsoleError('CONFLICT', 409, message);
