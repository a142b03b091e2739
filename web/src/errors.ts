/** What the user reads when an operation fails: chosen by `extensions.code`, never the raw error text. */

export interface GraphQLErrorLike {
  message?: string;
  extensions?: { code?: unknown } | null;
}

/** Codes whose server message is written for people (short, human, about their own input). */
const SAYS_WHY = new Set(["BAD_USER_INPUT", "CONFLICT", "FORBIDDEN"]);

const BY_CODE: Record<string, string> = {
  UNAUTHENTICATED: "Please sign in again.",
  FORBIDDEN: "You are not allowed to do that.",
  NOT_FOUND: "That no longer exists.",
  BAD_USER_INPUT: "Please check what you entered.",
  CONFLICT: "That is already taken.",
  RATE_LIMITED: "Too many requests; wait a moment and try again.",
  QUERY_TOO_COMPLEX: "The request was too large.",
  INTERNAL_SERVER_ERROR: "Something went wrong on the server. Please try again.",
};

export const NETWORK_ERROR = "Cannot reach the server. Check your connection and try again.";
const UNKNOWN = "Something went wrong. Please try again.";

export function codeOf(error: GraphQLErrorLike): string | undefined {
  const code = error.extensions?.code;
  return typeof code === "string" ? code : undefined;
}

export function messageFor(error: GraphQLErrorLike): string {
  const code = codeOf(error);
  if (code === undefined) return UNKNOWN;
  const message = error.message?.trim();
  if (SAYS_WHY.has(code) && message && message.length <= 300) return message;
  return BY_CODE[code] ?? UNKNOWN;
}

/** urql's CombinedError, or anything shaped like it. */
export interface CombinedLike {
  networkError?: unknown;
  graphQLErrors?: readonly GraphQLErrorLike[];
}

export function describe(error: CombinedLike | null | undefined): string | null {
  if (!error) return null;
  const first = error.graphQLErrors?.[0];
  if (first) return messageFor(first);
  if (error.networkError) return NETWORK_ERROR;
  return UNKNOWN;
}

export function isUnauthenticated(error: CombinedLike | null | undefined): boolean {
  return Boolean(error?.graphQLErrors?.some((item) => codeOf(item) === "UNAUTHENTICATED"));
}
