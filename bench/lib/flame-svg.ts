/**
 * A flame graph of a CPU profile's call tree as a standalone SVG (no tool needed): the root at the
 * bottom, each frame as wide as its share of the sampled busy time, the function in its tooltip.
 * Frames narrower than MIN_WIDTH pixels are left out (their time stays in the parent's width), which
 * keeps the file to a few hundred KiB.
 */
import type { FlameNode } from './cpu-profile.js';

const W = 1200;
const ROW = 17;
const MIN_WIDTH = 2;

export function flameGraphSvg(root: FlameNode, title: string): string {
  const frames: { node: FlameNode; x: number; depth: number; w: number }[] = [];
  const scale = W / Math.max(root.totalMs, 1e-9);
  const place = (node: FlameNode, x: number, depth: number): void => {
    const w = node.totalMs * scale;
    if (w < MIN_WIDTH) return;
    frames.push({ node, x, depth, w });
    let cx = x;
    for (const child of [...node.children].sort((a, b) => a.name.localeCompare(b.name))) {
      place(child, cx, depth + 1);
      cx += child.totalMs * scale;
    }
  };
  place(root, 0, 0);
  const H = (Math.max(0, ...frames.map((f) => f.depth)) + 1) * ROW + 40;
  // The root is the lowest bar.
  const y = (depth: number) => H - 10 - (depth + 1) * ROW;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="monospace" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="4" y="16" font-family="sans-serif" font-size="13" font-weight="bold">${escape(title)}</text>`,
    ...frames.map((f) => frame(f.node, f.x, y(f.depth), f.w, root.totalMs)),
    '</svg>',
    '',
  ].join('\n');
}

function frame(node: FlameNode, x: number, y: number, w: number, rootMs: number): string {
  const label = node.name.split(' ')[0] ?? '';
  const text = w > 40 ? `<text x="${(x + 3).toFixed(1)}" y="${y + 12}">${escape(label.slice(0, Math.floor((w - 6) / 6.6)))}</text>` : '';
  const tip = `${node.name} — ${node.totalMs.toFixed(1)} ms (${((node.totalMs / rootMs) * 100).toFixed(1)}%)`;
  return `<g><title>${escape(tip)}</title><rect x="${x.toFixed(1)}" y="${y}" width="${(w - 0.3).toFixed(1)}" height="${ROW - 1}" fill="${color(node.name)}"/>${text}</g>`;
}

/** Warm colours by area: warmbox's own code orange, npm packages yellow, Node and V8 red. */
function color(name: string): string {
  const h = [...name].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
  const base = name.includes('node_modules') || /^\S+ (@|[a-z-]+\/)/.test(name) ? 45 : name.includes(' node:') ? 5 : 25;
  return `hsl(${base + (h % 15)}, ${70 + (h % 20)}%, ${55 + (h % 15)}%)`;
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
