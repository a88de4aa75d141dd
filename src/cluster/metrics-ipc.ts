/**
 * `GET /metrics` for the whole node under `serve --workers N`. Each worker counts in a registry of
 * its own and a scrape lands on any one of them, so the worker that gets it asks the primary, which
 * gathers every listening worker's registry and merges them with prom-client's
 * AggregatorRegistry.aggregate: counters and histograms summed, gauges by each metric's aggregator
 * (memory, CPU, handles summed; event-loop lag averaged; the Node.js version once; the process start
 * time left out, as no single value is right for N processes).
 *
 * Not prom-client's clusterMetrics(): it asks every connected worker, including one still starting
 * (or crash-looping) that has no listener yet and never answers, so every scrape during a worker's
 * start would wait out its 5 s timeout. Here the primary asks only the workers that have said they
 * listen, and a worker that exits meanwhile is simply no longer part of the sum.
 *
 * Message types carry the d1authz:metrics: prefix so that they cannot be mistaken for the
 * supervisor's messages or anyone else's on the same channel.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { isListeningMessage } from './supervisor.js';

/** How long the scraped worker waits for the primary's answer before giving up (503). */
export const SCRAPE_TIMEOUT_MS = 2000;
/** Below SCRAPE_TIMEOUT_MS, so that a worker too slow to answer yields the primary's error rather than a bare timeout. */
export const COLLECT_TIMEOUT_MS = 1500;

const SCRAPE = 'd1authz:metrics:scrape'; // worker -> primary: the node's metrics, please
const COLLECT = 'd1authz:metrics:collect'; // primary -> worker: your own metrics, please
const LOCAL = 'd1authz:metrics:local'; // worker -> primary: mine, as getMetricsAsJSON()
const NODE = 'd1authz:metrics:node'; // primary -> worker: the node's, as Prometheus text

interface Message {
  readonly type: string;
  readonly id: number;
  readonly metrics?: object[];
  readonly text?: string;
  readonly error?: string;
}

const isMessage = (m: unknown, type: string): m is Message =>
  typeof m === 'object' && m !== null && (m as Message).type === type && typeof (m as Message).id === 'number';

/** In the primary: answers the workers' scrapes. Call before forking. */
export function serveNodeMetrics(timeoutMs = COLLECT_TIMEOUT_MS): void {
  const listening = new Set<Worker>();
  const collections = new Map<number, { arrived(worker: Worker, message: Message): void; gone(worker: Worker): void }>();
  let nextId = 0;

  const collect = () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const waiting = new Set([...listening].filter((w) => w.isConnected()));
      const results: object[][] = [];
      let finished = false;
      const finish = (err?: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        collections.delete(id);
        if (err) reject(err);
        // aggregate() throws (an unknown aggregator): that too must become an answer, not an uncaught error.
        else Promise.resolve().then(() => AggregatorRegistry.aggregate(results).metrics()).then(resolve, reject);
      };
      const timer = setTimeout(() => finish(new Error(`no metrics from ${waiting.size} worker(s) within ${timeoutMs} ms`)), timeoutMs);
      const collection = {
        arrived(worker: Worker, message: Message) {
          if (!waiting.delete(worker)) return;
          if (message.error !== undefined || !Array.isArray(message.metrics)) return finish(new Error(`worker metrics: ${message.error ?? 'malformed answer'}`));
          results.push(message.metrics);
          if (waiting.size === 0) finish();
        },
        gone(worker: Worker) {
          if (waiting.delete(worker) && waiting.size === 0) finish();
        },
      };
      collections.set(id, collection);
      // A failed send means the worker's channel has closed: it is on its way out, like an exit.
      for (const worker of waiting) worker.send({ type: COLLECT, id }, (err) => err && collection.gone(worker));
      if (waiting.size === 0) finish();
    });

  cluster.on('message', (worker, message: unknown) => {
    if (isListeningMessage(message)) listening.add(worker);
    else if (isMessage(message, LOCAL)) collections.get(message.id)?.arrived(worker, message);
    else if (isMessage(message, SCRAPE)) {
      const reply = (answer: Omit<Message, 'type' | 'id'>) => {
        if (worker.isConnected()) worker.send({ type: NODE, id: message.id, ...answer }, () => {});
      };
      collect().then(
        (text) => reply({ text }),
        (err: Error) => reply({ error: err.message }),
      );
    }
  });
  cluster.on('exit', (worker) => {
    listening.delete(worker);
    for (const collection of collections.values()) collection.gone(worker);
  });
}

let joined = false;

/** In a worker started by `serve`: /metrics is to answer for the whole node. Call before building the app. */
export function joinNodeMetrics(): void {
  joined = true;
}

/**
 * In a worker that joined: hands this registry to the primary's collections and returns how to read
 * the node's metrics (rejects after SCRAPE_TIMEOUT_MS). Anywhere else: undefined, the registry alone
 * is the answer.
 */
export function nodeMetricsSource(registry: Registry, timeoutMs = SCRAPE_TIMEOUT_MS): (() => Promise<string>) | undefined {
  if (!joined || !cluster.isWorker) return undefined;
  const pending = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  let nextId = 0;
  // Sent without a callback, a message on a closed channel becomes an 'error' event on process: uncaught.
  const send = (message: Message, onError: (err: Error) => void) =>
    process.connected && process.send ? process.send(message, undefined, {}, (err: Error | null) => err && onError(err)) : onError(new Error('no channel to the primary'));

  process.on('message', (message: unknown) => {
    if (isMessage(message, NODE)) {
      const request = pending.get(message.id);
      if (message.error !== undefined || typeof message.text !== 'string') request?.reject(new Error(message.error ?? 'malformed answer'));
      else request?.resolve(message.text);
    } else if (isMessage(message, COLLECT)) {
      registry.getMetricsAsJSON().then(
        (metrics) => send({ type: LOCAL, id: message.id, metrics }, () => {}),
        (err: Error) => send({ type: LOCAL, id: message.id, error: err.message }, () => {}),
      );
    }
  });

  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const settle = () => {
        clearTimeout(timer);
        pending.delete(id);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`no answer from the primary within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (text) => (settle(), resolve(text)),
        reject: (err) => (settle(), reject(err)),
      });
      send({ type: SCRAPE, id }, (err) => pending.get(id)?.reject(err));
    });
}
