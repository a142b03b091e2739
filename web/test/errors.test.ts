import { describe as group, expect, it } from "vitest";
import { describe, isUnauthenticated, messageFor, NETWORK_ERROR } from "../src/errors";

group("messageFor", () => {
  it("shows the server's short reason for input problems", () => {
    expect(messageFor({ message: "not a usable video: the file is not a video", extensions: { code: "BAD_USER_INPUT" } })).toBe(
      "not a usable video: the file is not a video",
    );
    expect(messageFor({ message: "username is taken", extensions: { code: "CONFLICT" } })).toBe("username is taken");
  });

  it("never shows the raw text of other errors", () => {
    const text = messageFor({ message: "Traceback (most recent call last)", extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(text).not.toContain("Traceback");
    expect(messageFor({ message: "jwt expired", extensions: { code: "UNAUTHENTICATED" } })).toBe("Please sign in again.");
    expect(messageFor({ message: "slow down", extensions: { code: "RATE_LIMITED" } })).toMatch(/wait/);
  });

  it("does not trust an error without a code", () => {
    expect(messageFor({ message: "Cannot query field x" })).toBe("Something went wrong. Please try again.");
    expect(messageFor({ message: "weird", extensions: { code: "SOMETHING_NEW" } })).toBe("Something went wrong. Please try again.");
  });
});

group("describe", () => {
  it("prefers the GraphQL error, then the network", () => {
    expect(describe(null)).toBeNull();
    expect(describe({ networkError: new Error("fetch failed"), graphQLErrors: [] })).toBe(NETWORK_ERROR);
    expect(describe({ graphQLErrors: [{ message: "x", extensions: { code: "NOT_FOUND" } }] })).toBe("That no longer exists.");
  });

  it("recognises a lost session", () => {
    expect(isUnauthenticated({ graphQLErrors: [{ extensions: { code: "UNAUTHENTICATED" } }] })).toBe(true);
    expect(isUnauthenticated({ graphQLErrors: [{ extensions: { code: "FORBIDDEN" } }] })).toBe(false);
  });
});
