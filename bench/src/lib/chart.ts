// A small SVG line chart, no dependencies: one panel per metric, one line per
// series, x = concurrency (log scale). Good enough to see which line wins.

export interface Series {
  readonly name: string;
  /** [x, y] points, x > 0 */
  readonly points: readonly (readonly [number, number])[];
}

export interface Panel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];
const W = 460;
const H = 300;
const M = { left: 60, right: 20, top: 30, bottom: 40 };

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");

function panel(p: Panel, offsetX: number): string {
  const xs = p.series.flatMap((s) => s.points.map(([x]) => x));
  const ys = p.series.flatMap((s) => s.points.map(([, y]) => y));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const yMax = Math.max(...ys, 1) * 1.1;
  const lx = (x: number) => (xMax === xMin ? 0.5 : (Math.log(x) - Math.log(xMin)) / (Math.log(xMax) - Math.log(xMin)));
  const px = (x: number) => offsetX + M.left + lx(x) * (W - M.left - M.right);
  const py = (y: number) => M.top + (1 - y / yMax) * (H - M.top - M.bottom);
  const parts = [
    `<text x="${offsetX + W / 2}" y="18" text-anchor="middle" font-weight="bold">${escapeXml(p.title)}</text>`,
    `<line x1="${px(xMin)}" y1="${py(0)}" x2="${px(xMax)}" y2="${py(0)}" stroke="#333"/>`,
    `<line x1="${offsetX + M.left}" y1="${py(0)}" x2="${offsetX + M.left}" y2="${M.top}" stroke="#333"/>`,
    `<text x="${offsetX + 12}" y="${M.top - 8}">${escapeXml(p.yLabel)}</text>`,
    `<text x="${offsetX + M.left - 6}" y="${py(yMax / 1.1) + 4}" text-anchor="end">${Math.round(yMax / 1.1)}</text>`,
    ...[...new Set(xs)].map((x) => `<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${x}</text>`),
    `<text x="${offsetX + W / 2}" y="${H - 6}" text-anchor="middle">concurrency</text>`,
  ];
  p.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = [...s.points]
      .sort((a, b) => a[0] - b[0])
      .map(([x, y], j) => `${j === 0 ? "M" : "L"}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(" ");
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(
      `<text x="${offsetX + W - M.right}" y="${M.top + 14 * (i + 1)}" text-anchor="end" fill="${color}">${escapeXml(s.name)}</text>`,
    );
  });
  return parts.join("\n");
}

export function svgChart(panels: readonly Panel[]): string {
  const body = panels.map((p, i) => panel(p, i * W)).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H}" font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
