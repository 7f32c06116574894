/** Figures and tables of the paper, from the toolkit (issue #6). */
export { writeFig6, fig6Data, FIG6_ARGS, FIG6_VALUES, type Fig6Row } from './fig6.js';
export { writeDag, dagFromSpec, dagSpec, type DagData, type DagEdge } from './dag.js';
export { writeRadii, radiiData, type RadiiData } from './radii.js';
export { writeSampleGrid, type SampleGridData } from './samples.js';
export { writeMiTable, sweepTable, parseSweep, sweepCsv, sweepMarkdown, type SweepAxis, type SweepTable } from './tables.js';
export { vegaLiteToSvg, svgToPng, svgSize, writeFigure, toCsv, toMarkdown, toJson, figureFontFiles } from './plot.js';
export { figuresMain, sweepMain, FIGURE_KINDS } from './cli.js';
