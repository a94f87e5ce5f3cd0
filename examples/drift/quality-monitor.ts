import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { config } from '../../src/core/config.js';
import { messageOf } from '../../src/core/errors.js';
import { defineStreamlet, type Inlet } from '../../src/core/streamlet.js';
import { DriftEventSchema } from '../../src/observe/drift/drift-event.js';
import { RetrainDecisionSchema } from '../../src/serving/retrain/decision.js';
import { concurrently } from '../../src/util/concurrently.js';
import { svgPlot, type PlotMarker } from './plot.js';
import { QualityTracker } from './quality.js';
import { DriftResultSchema, LabelledRecordSchema } from './schemas.js';
import { formatReport, Timeline, type TimelineKind } from './timeline.js';

const markerColors: Readonly<Partial<Record<TimelineKind, string>>> = {
  shift: '#d62728',
  drift: '#ff7f0e',
  started: '#7f7f7f',
  published: '#2ca02c',
  rejected: '#9467bd',
  failed: '#000000',
  serving: '#1f77b4',
};

/**
 * Tracks the serving model's quality from its results joined with the delayed labels, and
 * collects drift events and retrain decisions; when its inputs end (the run is over), prints the
 * timeline and the quality before and after the shift to `write` (stdout by default), and writes
 * an SVG plot of rolling accuracy and AUC with the events marked.
 */
export function qualityMonitor(write: (text: string) => void = (text) => void process.stdout.write(text)) {
  return defineStreamlet({
    description: 'Rolling accuracy and AUC from results and delayed labels; at the end, a timeline of shift, drift, retrains and swaps, and an SVG plot',
    inlets: { results: DriftResultSchema, labels: LabelledRecordSchema, drift: DriftEventSchema, decisions: RetrainDecisionSchema },
    config: {
      window: config.integer({ description: 'Labelled results the rolling accuracy and AUC are computed over', default: 500, min: 10 }),
      'sample-every': config.integer({ description: 'A point of the plot every this many labelled results', default: 100, min: 1 }),
      'max-pending': config.integer({ description: 'Most results waiting for their label (and labels for their result)', default: 100_000, min: 1 }),
      'decision-threshold': config.double({ description: 'A score at or above it predicts class 1', default: 0.5 }),
      'plot-file': config.string({ description: 'Where the SVG plot is written; empty: quality.svg in the report volume', default: '' }),
    },
    volumeMounts: { report: { description: 'Where the plot goes unless plot-file names a file', path: '/var/lib/sluice/quality' } },
    async run(ctx) {
      const tracker = new QualityTracker({
        window: ctx.config.window,
        sampleEvery: ctx.config['sample-every'],
        maxPending: ctx.config['max-pending'],
        decisionThreshold: ctx.config['decision-threshold'],
      });
      const timeline = new Timeline();
      ctx.exposeJson('/quality', () => ({ latest: tracker.latest() ?? null, phases: tracker.phases(), records: tracker.ids(), unscored: tracker.unscored }));
      const each =
        <T>(inlet: Inlet<T>, add: (value: T) => void) =>
        async (signal: AbortSignal) => {
          for await (const batch of inlet.batches({ signal })) for (const value of batch) add(value);
        };
      await concurrently([
        each(ctx.inlet('results'), (r) => tracker.addResult(r)),
        each(ctx.inlet('labels'), (l) => tracker.addLabel(l)),
        each(ctx.inlet('drift'), (d) => timeline.addDrift(d)),
        each(ctx.inlet('decisions'), (d) => timeline.addDecision(d)),
      ]);
      const plotFile = resolve(ctx.config['plot-file'] || join(ctx.volumePath('report'), 'quality.svg'));
      let written: string | undefined;
      try {
        await mkdir(dirname(plotFile), { recursive: true });
        await writeFile(plotFile, plot(tracker, timeline));
        written = plotFile;
      } catch (err) {
        ctx.log.error('cannot write the plot', { file: plotFile, error: messageOf(err) });
      }
      write(formatReport(timeline, tracker, written));
    },
  });
}

function plot(tracker: QualityTracker, timeline: Timeline): string {
  const t0 = tracker.firstRecordAt ?? 0;
  const seconds = (at: number) => (at - t0) / 1000;
  const markers: PlotMarker[] = timeline.all(tracker).flatMap((event) => {
    const color = markerColors[event.kind];
    if (!color) return [];
    const label =
      event.kind === 'published' || event.kind === 'serving' ? `${event.kind} ${event.text.split(':')[0]}` : event.kind === 'started' ? 'retrain' : event.kind;
    return [{ x: seconds(event.at), label, color }];
  });
  return svgPlot({
    title: 'Model quality over a rolling window of labelled results',
    xLabel: 'seconds from the first record',
    yMin: 0.3,
    markers,
    series: [
      { name: 'accuracy', color: '#1f77b4', points: tracker.points.map((p) => ({ x: seconds(p.at), y: p.accuracy })) },
      { name: 'AUC', color: '#ff7f0e', points: tracker.points.flatMap((p) => (p.auc === undefined ? [] : [{ x: seconds(p.at), y: p.auc }])) },
    ],
  });
}
