import uPlot from 'uplot';
import type { GraphView } from '../protocol.js';
import { formatTime, h } from './dom.js';
import type { RateView } from './rates.js';

/** Points kept per chart: two minutes at one snapshot every 500 ms. */
const WINDOW = 240;
const HEIGHT = 150;

interface Series {
  readonly label: string;
  readonly stroke: string;
  readonly value: (rates: RateView) => number | null;
}

/** A tick value with as many decimals as the tick spacing needs, grouped by thousands. */
function tick(value: number, increment: number): string {
  const decimals = Math.min(6, Math.max(0, -Math.floor(Math.log10(increment))));
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** One live line chart; its data is a bounded window of the newest points. */
class LiveChart {
  private readonly data: (number | null)[][];
  private readonly plot: uPlot;

  constructor(
    container: HTMLElement,
    private readonly series: readonly Series[],
  ) {
    this.data = [[], ...series.map(() => [])];
    this.plot = new uPlot(
      {
        width: Math.max(240, container.clientWidth),
        height: HEIGHT,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: '#555', grid: { stroke: '#eee' }, space: 70, values: (_u, ticks) => ticks.map((t) => formatTime(t * 1000).slice(0, 8)) },
          { stroke: '#555', grid: { stroke: '#eee' }, size: 56, values: (_u, ticks, _axis, _space, increment) => ticks.map((t) => tick(t, increment)) },
        ],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, points: { show: false } }))],
      },
      this.data as uPlot.AlignedData,
      container,
    );
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(240, container.clientWidth), height: HEIGHT })).observe(container);
  }

  push(rates: RateView): void {
    this.data[0]?.push(rates.time);
    this.series.forEach((s, i) => this.data[i + 1]?.push(s.value(rates)));
    for (const column of this.data) if (column.length > WINDOW) column.splice(0, column.length - WINDOW);
    this.plot.setData(this.data as uPlot.AlignedData);
  }
}

/** Per streamlet: records in and out per second; beside a model-serving streamlet's, the mean latency of its model calls. */
export class ThroughputCharts {
  private readonly throughput = new Map<string, LiveChart>();
  private readonly latency = new Map<string, LiveChart>();
  private readonly cards = new Map<string, HTMLElement>();

  constructor(container: HTMLElement, graph: GraphView) {
    for (const s of graph.streamlets) {
      const plot = h('div', { class: 'chart' });
      const card = h(
        'article',
        { class: 'chart-card', 'data-streamlet': s.name, 'data-chart': 'throughput' },
        h('h3', {}, s.name, h('small', {}, ' records/s')),
        plot,
      );
      container.append(card);
      this.cards.set(s.name, card);
      const series: Series[] = [];
      if (s.inlets.length > 0) series.push({ label: 'in', stroke: '#2563eb', value: (r) => r.streamlets[s.name]?.in ?? null });
      if (s.outlets.length > 0) series.push({ label: 'out', stroke: '#16a34a', value: (r) => r.streamlets[s.name]?.out ?? null });
      this.throughput.set(s.name, new LiveChart(plot, series));
    }
  }

  push(rates: RateView, modelStreamlets: ReadonlySet<string>): void {
    for (const chart of this.throughput.values()) chart.push(rates);
    for (const name of modelStreamlets) {
      let chart = this.latency.get(name);
      const card = this.cards.get(name);
      if (!chart && card) {
        const plot = h('div', { class: 'chart' });
        card.after(
          h(
            'article',
            { class: 'chart-card', 'data-streamlet': name, 'data-chart': 'latency' },
            h('h3', {}, name, h('small', {}, ' mean model call, ms')),
            plot,
          ),
        );
        chart = new LiveChart(plot, [{ label: 'ms per call', stroke: '#b45309', value: (r) => r.streamlets[name]?.latencyMs ?? null }]);
        this.latency.set(name, chart);
      }
      chart?.push(rates);
    }
  }
}
