import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createSocket, type Client as SocketClient } from "graphql-ws";
import { authorization } from "./auth";

export const GRAPHQL_PATH = "/graphql";
const KEEP_ALIVE_MS = 10_000;

export function socketUrl(location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${GRAPHQL_PATH}`;
}

export interface Api {
  client: Client;
  socket: SocketClient;
}

/** One client per session: the token goes in every request's headers and in the socket's
 * `connection_init` payload (browsers cannot set headers on a WebSocket). No document cache: pages
 * keep what they show and update it from each mutation's answer, so counts change at once. */
export interface SocketEvents {
  connected(): void;
  closed(): void;
}

export function createApi(token: string | null, events?: SocketEvents): Api {
  const socket = createSocket({
    url: socketUrl(window.location),
    connectionParams: () => authorization(token),
    keepAlive: KEEP_ALIVE_MS,
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: { connected: () => events?.connected(), closed: () => events?.closed() },
  });
  const client = new Client({
    url: GRAPHQL_PATH,
    requestPolicy: "network-only",
    preferGetMethod: false,
    fetchOptions: () => ({ headers: authorization(token) }),
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = socket.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, socket };
}
