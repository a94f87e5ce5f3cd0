/**
 * The dashboard page: fetches the blueprint once, then redraws from the snapshots the server
 * pushes on `/dashboard/events` (server-sent events, about two a second).
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { GraphView, Snapshot } from '../protocol.js';
import { ThroughputCharts } from './charts.js';
import { byId, formatCount, formatTime, setText } from './dom.js';
import { PipelineGraph } from './graph.js';
import { ModelPanels } from './models.js';
import { Rates } from './rates.js';

function setStatus(status: 'connecting' | 'live' | 'disconnected', text: string): void {
  const element = byId('status');
  element.dataset.status = status;
  setText(element, text);
}

async function start(): Promise<void> {
  const response = await fetch('/dashboard/graph');
  if (!response.ok) throw new Error(`GET /dashboard/graph answered ${response.status}`);
  const view = (await response.json()) as GraphView;
  setText(byId('app-name'), view.application);
  document.title = `${view.application} · Sluice`;

  const graph = new PipelineGraph(byId('graph'), view);
  const charts = new ThroughputCharts(byId('charts'), view);
  const models = new ModelPanels(byId('model-panels'), byId<HTMLOListElement>('swap-history'));
  const rates = new Rates();

  const events = new EventSource('/dashboard/events');
  events.addEventListener('open', () => setStatus('live', 'live'));
  events.addEventListener('error', () => setStatus('disconnected', events.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…'));
  events.addEventListener('snapshot', (event) => {
    const snapshot = JSON.parse((event as MessageEvent<string>).data) as Snapshot;
    const r = rates.update(snapshot);
    graph.update(snapshot, r);
    const serving = models.update(snapshot);
    if (r) charts.push(r, serving);
    const samples = Object.values(snapshot.streamlets);
    setText(byId('dead-letters'), formatCount(samples.reduce((n, s) => n + s.deadLetters, 0)));
    setText(byId('restarts'), formatCount(samples.reduce((n, s) => n + s.restarts, 0)));
    setText(byId('updated'), formatTime(snapshot.time));
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1);
  });
}

start().catch((err: unknown) => {
  setStatus('disconnected', `failed: ${err instanceof Error ? err.message : String(err)}`);
  throw err;
});
