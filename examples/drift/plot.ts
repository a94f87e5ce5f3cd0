/**
 * A small line chart as SVG text, written by hand: the example runs with production
 * dependencies only, and a polyline per series and a dashed line per event need no plotting
 * library.
 */
export interface PlotSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

export interface PlotMarker {
  readonly x: number;
  readonly label: string;
  readonly color: string;
}

export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly series: readonly PlotSeries[];
  readonly markers: readonly PlotMarker[];
  /** The y axis runs from yMin to 1, with a grid line every 0.1. */
  readonly yMin: number;
}

const WIDTH = 960;
const HEIGHT = 420;
const LEFT = 50;
const RIGHT = 20;
const TOP = 50;
const BOTTOM = 45;
/** Marker labels closer than this (px) are moved apart. */
const LABEL_GAP = 13;

export function svgPlot(options: PlotOptions): string {
  const xs = [...options.series.flatMap((s) => s.points.map((p) => p.x)), ...options.markers.map((m) => m.x)];
  const xMax = Math.max(1, ...xs);
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const px = (x: number) => (LEFT + (x / xMax) * plotWidth).toFixed(1);
  const py = (y: number) => (TOP + (1 - (Math.min(1, Math.max(options.yMin, y)) - options.yMin) / (1 - options.yMin)) * plotHeight).toFixed(1);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">${escape(options.title)}</text>`,
  ];
  for (let y = Math.ceil(options.yMin * 10) / 10; y <= 1.0001; y += 0.1) {
    out.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${py(y)}" y2="${py(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${LEFT - 6}" y="${py(y)}" text-anchor="end" dominant-baseline="middle">${y.toFixed(1)}</text>`);
  }
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600].find((s) => xMax / s <= 12) ?? Math.ceil(xMax / 12);
  for (let x = 0; x <= xMax; x += step) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${HEIGHT - BOTTOM}" y2="${HEIGHT - BOTTOM + 4}" stroke="#444"/>`);
    out.push(`<text x="${px(x)}" y="${HEIGHT - BOTTOM + 16}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<rect x="${LEFT}" y="${TOP}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${LEFT + plotWidth / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escape(options.xLabel)}</text>`);
  let lastLabel = Number.NEGATIVE_INFINITY;
  for (const marker of [...options.markers].sort((a, b) => a.x - b.x)) {
    const x = Number(px(marker.x));
    const labelX = Math.max(x + 2, lastLabel + LABEL_GAP);
    lastLabel = labelX;
    out.push(`<line x1="${x}" x2="${x}" y1="${TOP}" y2="${HEIGHT - BOTTOM}" stroke="${marker.color}" stroke-dasharray="4 3"/>`);
    // Read upwards from the bottom, where quality curves rarely go.
    out.push(
      `<text transform="translate(${labelX.toFixed(1)} ${HEIGHT - BOTTOM - 6}) rotate(-90)" dy="0.8em" fill="${marker.color}">${escape(marker.label)}</text>`,
    );
  }
  for (const series of options.series) {
    const points = series.points.map((p) => `${px(p.x)},${py(p.y)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${series.color}" stroke-width="1.6" points="${points}"/>`);
  }
  options.series.forEach((series, i) => {
    const x = WIDTH - RIGHT - 150 * (options.series.length - i);
    out.push(`<line x1="${x}" x2="${x + 24}" y1="34" y2="34" stroke="${series.color}" stroke-width="2"/>`);
    out.push(`<text x="${x + 30}" y="34" dominant-baseline="middle">${escape(series.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
