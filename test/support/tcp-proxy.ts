import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on a free loopback port in front of a real service, so a test can make the
 * service "go away" (`close()`: stop listening and drop every connection) and "come back"
 * (`reopen()`: listen again on the same port) without touching the service itself.
 */
export interface TcpProxy {
  /** The port clients connect to (stable across close/reopen). */
  readonly port: number;
  /** `host:port` of the proxy, for URLs. */
  readonly address: string;
  /** Whether the proxy currently accepts connections. */
  readonly isOpen: boolean;
  /** Connections currently relayed. */
  readonly connectionCount: number;
  /** Stops accepting connections and drops the open ones; clients see the service vanish. */
  close(): Promise<void>;
  /** Accepts connections again on the same port. */
  reopen(): Promise<void>;
}

export interface TcpProxyOptions {
  /** Start closed: the port is reserved but refuses connections until `reopen()` (a service down at start). */
  readonly startClosed?: boolean;
}

const host = '127.0.0.1';

/** Starts a proxy to `target` (e.g. `{ host: '127.0.0.1', port: 5672 }`); call `close()` when the test ends. */
export async function startTcpProxy(target: { host: string; port: number }, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const pairs = new Set<readonly [Socket, Socket]>();
  let server: Server | undefined;
  let port = 0;

  const relay = (client: Socket): void => {
    const upstream = connect(target.port, target.host);
    const pair = [client, upstream] as const;
    pairs.add(pair);
    // One side closing closes the pair, as a real connection to the service would.
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop).on('error', () => {});
    upstream.on('close', drop).on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listen = async (): Promise<void> => {
    const next = createServer(relay);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, host, () => {
        next.off('error', reject);
        resolve();
      });
    });
    const bound = next.address();
    if (bound === null || typeof bound === 'string') throw new Error('tcp proxy: listening socket has no port');
    port = bound.port;
    server = next;
  };

  const close = async (): Promise<void> => {
    const current = server;
    server = undefined;
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  if (options.startClosed) await close();

  return {
    get port() {
      return port;
    },
    get address() {
      return `${host}:${port}`;
    },
    get isOpen() {
      return server !== undefined;
    },
    get connectionCount() {
      return pairs.size;
    },
    close,
    reopen: async () => {
      if (!server) await listen();
    },
  };
}
