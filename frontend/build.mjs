// Builds frontend/dist: our sources plus the charting library from node_modules.
// No bundler: the browser loads ES modules, and every file is served by tickerflow-api
// from the same origin (no CDN, no internet needed at run time).
import { cpSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const uplot = join(here, 'node_modules', 'uplot');

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'vendor'), { recursive: true });
cpSync(join(here, 'src'), dist, { recursive: true });
cpSync(join(uplot, 'dist', 'uPlot.esm.js'), join(dist, 'vendor', 'uPlot.esm.js'));
cpSync(join(uplot, 'dist', 'uPlot.min.css'), join(dist, 'vendor', 'uPlot.min.css'));
cpSync(join(uplot, 'LICENSE'), join(dist, 'vendor', 'uPlot.LICENSE.txt'));
console.log(`built ${dist}: ${readdirSync(dist).join(', ')}`);
