import { isServingState, type HistoryEvent, type ServingState, type Snapshot } from '../protocol.js';
import { formatAge, formatCount, formatMs, formatTime, h, setText } from './dom.js';

const FIELDS: readonly { readonly key: string; readonly label: string; readonly value: (s: ServingState, now: number) => string }[] = [
  { key: 'name', label: 'model', value: (s) => s.name ?? 'none yet' },
  { key: 'type', label: 'type', value: (s) => s.modelType ?? '–' },
  { key: 'description', label: 'description', value: (s) => s.description ?? '–' },
  { key: 'source', label: 'source', value: (s) => s.source ?? '–' },
  { key: 'since', label: 'since', value: (s, now) => (s.since === null ? '–' : `${formatTime(s.since)} (${formatAge(s.since, now)})`) },
  { key: 'usage', label: 'records scored', value: (s) => formatCount(s.usage) },
  { key: 'calls', label: 'model calls', value: (s) => (s.calls === undefined ? '–' : formatCount(s.calls)) },
  {
    key: 'duration',
    label: 'call min / avg / max',
    value: (s) => (s.calls ? `${formatMs(s.min)} / ${formatMs(s.averageDuration ?? 0)} / ${formatMs(s.max)} ms` : '–'),
  },
  { key: 'updates', label: 'updates accepted / rejected', value: (s) => `${s.updates?.accepted ?? 0} / ${s.updates?.rejected ?? 0}` },
  { key: 'without-model', label: 'answered without a model', value: (s) => formatCount(s.recordsWithoutModel ?? 0) },
  { key: 'failed', label: 'failed records', value: (s) => formatCount(s.failedRecords ?? 0) },
];

/** A panel per model-serving streamlet (what it serves, its stats) and the history of swaps and rejected updates. */
export class ModelPanels {
  private readonly panels = new Map<string, Map<string, HTMLElement>>();
  private shownHistory = '';

  constructor(
    private readonly container: HTMLElement,
    private readonly history: HTMLOListElement,
  ) {}

  /** Updates the panels; returns the streamlets that serve models. */
  update(snapshot: Snapshot): Set<string> {
    const serving = new Set<string>();
    for (const [name, sample] of Object.entries(snapshot.streamlets)) {
      if (!isServingState(sample.state)) continue;
      serving.add(name);
      const fields = this.panel(name);
      for (const f of FIELDS) {
        const element = fields.get(f.key);
        if (element) setText(element, f.value(sample.state, snapshot.time));
      }
    }
    this.container.toggleAttribute('data-empty', serving.size === 0);
    this.showHistory(snapshot.history);
    return serving;
  }

  private panel(streamlet: string): Map<string, HTMLElement> {
    let fields = this.panels.get(streamlet);
    if (fields) return fields;
    fields = new Map();
    const list = h('dl');
    for (const f of FIELDS) {
      const value = h('dd', { 'data-field': f.key });
      list.append(h('dt', {}, f.label), value);
      fields.set(f.key, value);
    }
    this.container.append(h('article', { class: 'model-panel', 'data-streamlet': streamlet }, h('h3', {}, streamlet), list));
    this.panels.set(streamlet, fields);
    return fields;
  }

  private showHistory(events: readonly HistoryEvent[]): void {
    const key = events.map((e) => `${e.kind}${e.streamlet}${e.model}${e.at}`).join('|');
    if (key === this.shownHistory) return;
    this.shownHistory = key;
    this.history.replaceChildren(...events.map(historyItem));
  }
}

function historyItem(e: HistoryEvent): HTMLLIElement {
  const attributes = { 'data-kind': e.kind, 'data-streamlet': e.streamlet, 'data-model': e.model, 'data-at': e.at, class: e.kind };
  const time = h('time', { datetime: new Date(e.at).toISOString() }, formatTime(e.at));
  if (e.kind === 'swap') {
    const previous = e.previous === null ? ' (first model)' : ` replacing ${e.previous}`;
    return h('li', attributes, time, ' ', h('span', { class: 'who' }, e.streamlet), ' serves ', h('b', {}, e.model), ` ${e.modelType}${previous}`);
  }
  return h(
    'li',
    attributes,
    time,
    ' ',
    h('span', { class: 'who' }, e.streamlet),
    ' rejected ',
    h('b', {}, e.model),
    ` ${e.modelType}: `,
    h('span', { class: 'reason' }, e.reason),
  );
}
