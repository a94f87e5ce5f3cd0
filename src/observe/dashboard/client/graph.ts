import { graphlib, layout, type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre';
import type { GraphView, Snapshot } from '../protocol.js';
import { formatCount, formatRate, setText, svg } from './dom.js';
import type { RateView } from './rates.js';

/** One drawn edge: a topic from a producer to a consumer (or to/from the topic itself when one side is missing). */
interface Edge {
  readonly topic: string;
  readonly from: string;
  readonly to: string;
  /** Which counter gives its rate: the consumer's inlet, else the producer's outlet. */
  readonly rate: { readonly inlet: string } | { readonly outlet: string };
}

interface DrawnEdge extends Edge {
  readonly group: SVGGElement;
  readonly rateText: SVGTextElement;
  readonly box: SVGRectElement;
  /** The label's width as laid out; it grows when the text outgrows it. */
  readonly width: number;
}

interface DrawnNode {
  readonly rates: SVGTextElement;
  readonly alerts: SVGTextElement;
  readonly hasInlets: boolean;
  readonly hasOutlets: boolean;
}

const FONT = '13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const NODE_HEIGHT = 78;
const LABEL_HEIGHT = 34;
/** The widest a node's rate line gets, reserved so live numbers never overflow the box. */
const WIDEST_RATES = 'in 99,999/s · out 99,999/s';
const TYPICAL_EDGE_RATE = '9,999/s · 99 queued';

const topicNode = (topic: string) => `topic:${topic}`;
/** dagre's name for an edge: a multigraph may join two nodes by several topics or ports. */
const edgeKey = (e: Edge) => `${e.topic}|${e.to}|${JSON.stringify(e.rate)}`;

/** The edges to draw: every producer to every consumer of each topic. */
function edgesOf(graph: GraphView): Edge[] {
  const edges: Edge[] = [];
  for (const topic of graph.topics) {
    const producers = topic.producers.map((p) => ({ node: p.streamlet, outlet: `${p.streamlet}.${p.outlet}` }));
    const consumers = topic.consumers.map((c) => ({ node: c.streamlet, inlet: `${c.streamlet}.${c.inlet}` }));
    if (producers.length > 0 && consumers.length > 0) {
      for (const p of producers) for (const c of consumers) edges.push({ topic: topic.name, from: p.node, to: c.node, rate: { inlet: c.inlet } });
    } else {
      // A topic without a producer (dead-letters, written by the runtime) or without a consumer gets its own node.
      for (const p of producers) edges.push({ topic: topic.name, from: p.node, to: topicNode(topic.name), rate: { outlet: p.outlet } });
      for (const c of consumers) edges.push({ topic: topic.name, from: topicNode(topic.name), to: c.node, rate: { inlet: c.inlet } });
    }
  }
  return edges;
}

/** The blueprint drawn with dagre as SVG: streamlets are nodes, topics are edges labelled with their live rate. */
export class PipelineGraph {
  private readonly edges: DrawnEdge[] = [];
  private readonly nodes = new Map<string, DrawnNode>();

  constructor(container: HTMLElement, graph: GraphView) {
    const measure = textMeasurer();
    const g = new graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>({ multigraph: true });
    g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 40, edgesep: 20, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const s of graph.streamlets) {
      const width = Math.max(measure(s.name, 600, 15), measure(s.className, 400, 12), measure(WIDEST_RATES, 400, 12)) + 28;
      g.setNode(s.name, { width, height: NODE_HEIGHT, label: s.name });
    }
    const edges = edgesOf(graph);
    for (const e of edges) {
      for (const node of [e.from, e.to]) {
        if (!g.hasNode(node)) g.setNode(node, { width: measure(node.slice('topic:'.length), 500, 13) + 32, height: 36, label: node, class: 'topic' });
      }
      const width = Math.max(measure(e.topic, 400, 12), measure(TYPICAL_EDGE_RATE, 600, 12)) + 14;
      g.setEdge(e.from, e.to, { width, height: LABEL_HEIGHT, labelpos: 'c' }, edgeKey(e));
    }
    layout(g);

    const { width = 0, height = 0 } = g.graph();
    const root = svg('svg', {
      id: 'graph-svg',
      viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
      width: Math.ceil(width),
      role: 'img',
      'aria-label': 'Pipeline graph',
    });
    root.style.maxWidth = '100%';
    root.style.height = 'auto';
    root.append(
      svg(
        'defs',
        {},
        svg(
          'marker',
          { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
          svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }),
        ),
      ),
    );

    const edgeLayer = svg('g', { class: 'edges' });
    const labelLayer = svg('g', { class: 'edge-labels' });
    for (const e of edges) {
      const label = g.edge(e.from, e.to, edgeKey(e));
      const port = 'inlet' in e.rate ? e.rate.inlet : e.rate.outlet;
      const group = svg('g', { class: 'edge', 'data-edge': e.topic, 'data-from': e.from, 'data-to': e.to, 'data-port': port, 'data-rate': '' });
      group.append(svg('path', { d: curve(label?.points ?? []), class: 'edge-line', 'marker-end': 'url(#arrow)' }));
      const rateText = svg('text', { class: 'edge-rate', y: 13, 'text-anchor': 'middle' }, '–');
      const box = svg('g', { class: 'edge-label', 'data-edge-label': e.topic, transform: `translate(${label?.x ?? 0},${label?.y ?? 0})` });
      const labelWidth = Number(label?.width ?? 0);
      const rect = svg('rect', { x: -labelWidth / 2, y: -LABEL_HEIGHT / 2, width: labelWidth, height: LABEL_HEIGHT, rx: 4 });
      box.append(rect, svg('text', { class: 'edge-topic', y: -3, 'text-anchor': 'middle' }, e.topic), rateText);
      edgeLayer.append(group);
      // Labels go above every line, so no line crosses another edge's label.
      labelLayer.append(box);
      this.edges.push({ ...e, group, rateText, box: rect, width: labelWidth });
    }

    const nodeLayer = svg('g', { class: 'nodes' });
    for (const s of graph.streamlets) {
      const n = g.node(s.name);
      if (!n) continue;
      const w = n.width;
      const group = svg('g', { class: 'node', 'data-streamlet': s.name, transform: `translate(${(n.x ?? 0) - w / 2},${(n.y ?? 0) - NODE_HEIGHT / 2})` });
      const rates = svg('text', { class: 'node-rates', x: 14, y: 55 }, '');
      const alerts = svg('text', { class: 'node-alerts', x: 14, y: 70 }, '');
      group.append(
        svg('title', {}, s.description),
        svg('rect', { width: w, height: NODE_HEIGHT, rx: 6 }),
        svg('text', { class: 'node-name', x: 14, y: 21 }, s.name),
        svg('text', { class: 'node-class', x: 14, y: 37 }, s.className),
        rates,
        alerts,
      );
      nodeLayer.append(group);
      this.nodes.set(s.name, { rates, alerts, hasInlets: s.inlets.length > 0, hasOutlets: s.outlets.length > 0 });
    }
    for (const id of g.nodes()) {
      if (!id.startsWith('topic:')) continue;
      const n = g.node(id);
      if (!n) continue;
      const topic = id.slice('topic:'.length);
      nodeLayer.append(
        svg(
          'g',
          { class: 'node topic', 'data-topic': topic, transform: `translate(${(n.x ?? 0) - n.width / 2},${(n.y ?? 0) - n.height / 2})` },
          svg('rect', { width: n.width, height: n.height, rx: n.height / 2 }),
          svg('text', { x: n.width / 2, y: n.height / 2 + 4, 'text-anchor': 'middle' }, topic),
        ),
      );
    }
    root.append(edgeLayer, nodeLayer, labelLayer);
    container.replaceChildren(root);
  }

  update(snapshot: Snapshot, rates: RateView | undefined): void {
    for (const e of this.edges) {
      const r = rates ? ('inlet' in e.rate ? rates.inlets[e.rate.inlet] : rates.outlets[e.rate.outlet]) : undefined;
      if (r === undefined) continue;
      const depth = snapshot.topics[e.topic]?.depth ?? 0;
      e.group.dataset.rate = r.toFixed(2);
      e.group.classList.toggle('idle', r === 0);
      setText(e.rateText, `${formatRate(r)}/s${depth > 0 ? ` · ${formatCount(depth)} queued` : ''}`);
      const width = Math.max(e.width, Math.ceil(e.rateText.getComputedTextLength()) + 14);
      if (Number(e.box.getAttribute('width')) !== width) {
        e.box.setAttribute('width', String(width));
        e.box.setAttribute('x', String(-width / 2));
      }
    }
    for (const [name, node] of this.nodes) {
      const sample = snapshot.streamlets[name];
      const r = rates?.streamlets[name];
      if (r) {
        const parts = [node.hasInlets ? `in ${formatRate(r.in)}/s` : '', node.hasOutlets ? `out ${formatRate(r.out)}/s` : ''];
        setText(node.rates, parts.filter(Boolean).join(' · '));
      }
      if (sample) {
        const alerts = [
          sample.deadLetters > 0 ? `${formatCount(sample.deadLetters)} dead-lettered` : '',
          sample.restarts > 0 ? `${formatCount(sample.restarts)} restart${sample.restarts === 1 ? '' : 's'}` : '',
        ];
        setText(node.alerts, alerts.filter(Boolean).join(' · '));
      }
    }
  }
}

/** A smooth path through dagre's points: quadratic segments between midpoints. */
function curve(points: readonly { x: number; y: number }[]): string {
  const [first, ...rest] = points;
  if (!first) return '';
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i] as { x: number; y: number };
    const q = rest[i + 1] as { x: number; y: number };
    d += ` Q${p.x},${p.y} ${(p.x + q.x) / 2},${(p.y + q.y) / 2}`;
  }
  const last = rest.at(-1);
  if (last) d += ` L${last.x},${last.y}`;
  return d;
}

/** Text width in px, measured with a canvas in the page's font. */
function textMeasurer(): (text: string, weight: number, size: number) => number {
  const context = document.createElement('canvas').getContext('2d');
  return (text, weight, size) => {
    if (!context) return text.length * size * 0.62;
    context.font = `${weight} ${FONT.replace('13px', `${size}px`)}`;
    return Math.ceil(context.measureText(text).width);
  };
}
