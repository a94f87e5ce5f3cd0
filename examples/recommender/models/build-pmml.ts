/**
 * Builds the recommender example's PMML model, `recommender-pmml`, in TypeScript from seeded
 * random numbers: a scorer made of trees and bins, visibly different from the embedding-based
 * ONNX recommenders (build-models.ts), for the PMML executor to serve.
 *
 * The model contract is the recommender's: active fields `users` and `products` (continuous),
 * output `predictions`, one score in (0,1) per (user, product) row. Its shape is the one
 * sklearn2pmml gives a gradient-boosted classifier:
 *
 *   MiningModel (regression, modelChain)
 *     Segment 1: MiningModel (regression, sum of TreeModels) with Targets
 *                (× learningRate + initScore)           → OutputField `affinity`
 *     Segment 2: RegressionModel (regression, normalizationMethod="logit"):
 *                predictions = σ(bias + affinity + popularity[bin(products)])
 *                where `bin` is a Discretize of `products` (a LocalTransformation)
 *
 * The trees carry a block structure: users fall in `bands` bands of ids and products in as
 * many bands; one tree per band lifts the scores of a user's own product band. A few seeded
 * random trees add texture, and the popularity bins tilt whole ranges of products.
 *
 * `scoreRecommenderPmml` evaluates the same specification in plain JS: an independent second
 * method that tests compare the PMML executor's output against.
 *
 * Run directly to write the model and its `.json` sidecar:
 *   npx tsx examples/recommender/models/build-pmml.ts [outDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { seededRandom } from '../../../src/util/random.js';
import { productCount, userCount } from './build-models.js';

export const recommenderPmmlName = 'recommender-pmml';
export const recommenderPmmlDescription =
  'Recommender PMML: a gradient-boosted-style chain of trees over user and product id bands, ' +
  'plus product popularity bins, through a logistic link (seed 3).';

/** A binary tree splitting on `field < threshold` (left) / `field >= threshold` (right). */
export type PmmlTree =
  | { readonly kind: 'leaf'; readonly score: number }
  | { readonly kind: 'split'; readonly field: 'users' | 'products'; readonly threshold: number; readonly below: PmmlTree; readonly above: PmmlTree };

export interface PopularityBin {
  readonly from: number;
  readonly to: number;
  readonly coefficient: number;
}

export interface RecommenderPmmlSpec {
  readonly trees: readonly PmmlTree[];
  readonly learningRate: number;
  readonly initScore: number;
  readonly bias: number;
  /** Consecutive [from, to) bins covering the product ids. */
  readonly bins: readonly PopularityBin[];
}

export interface RecommenderPmmlOptions {
  readonly seed?: number;
  /** Taste bands of users and products; default 4. */
  readonly bands?: number;
  /** Random trees added to the band trees; default 6. */
  readonly randomTrees?: number;
  /** Popularity bins over the product ids; default 6. */
  readonly bins?: number;
}

const leaf = (score: number): PmmlTree => ({ kind: 'leaf', score });
const split = (field: 'users' | 'products', threshold: number, below: PmmlTree, above: PmmlTree): PmmlTree => ({
  kind: 'split',
  field,
  threshold,
  below,
  above,
});
/** Scores rounded to 4 decimals, so the XML holds exactly what the reference uses. */
const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** The model's specification for these options; the same options always give the same model. */
export function recommenderPmmlSpec(options: RecommenderPmmlOptions = {}): RecommenderPmmlSpec {
  const random = seededRandom(options.seed ?? 3);
  const bands = options.bands ?? 4;
  const userBand = Math.ceil(userCount / bands);
  const productBand = Math.ceil(productCount / bands);
  const trees: PmmlTree[] = [];
  for (let k = 0; k < bands; k++) {
    // Users of band k like products of band k and mildly dislike the others.
    const liked = round4(2.2 + 0.6 * random());
    const disliked = round4(-0.4 - 0.3 * random());
    const products = split('products', k * productBand, leaf(disliked), split('products', (k + 1) * productBand, leaf(liked), leaf(disliked)));
    trees.push(split('users', k * userBand, leaf(0), split('users', (k + 1) * userBand, products, leaf(0))));
  }
  for (let t = 0; t < (options.randomTrees ?? 6); t++) {
    const value = (): number => round4(1.2 * random() - 0.6);
    const productSplit = (): number => 1 + Math.floor(random() * (productCount - 1));
    trees.push(
      split(
        'users',
        1 + Math.floor(random() * (userCount - 1)),
        split('products', productSplit(), leaf(value()), leaf(value())),
        split('products', productSplit(), leaf(value()), leaf(value())),
      ),
    );
  }
  const binCount = options.bins ?? 6;
  const binWidth = Math.ceil(productCount / binCount);
  const bins = Array.from({ length: binCount }, (_, i) => ({
    from: i * binWidth,
    to: Math.min(productCount, (i + 1) * binWidth),
    coefficient: round4(1.6 * random() - 0.8),
  }));
  return { trees, learningRate: 0.8, initScore: -0.6, bias: -0.5, bins };
}

// ---- The independent reference ------------------------------------------------------------

function treeScore(tree: PmmlTree, user: number, product: number): number {
  let node = tree;
  while (node.kind === 'split') {
    const x = node.field === 'users' ? user : product;
    node = x < node.threshold ? node.below : node.above;
  }
  return node.score;
}

/** The model's score for one (user, product), computed from the specification in plain JS. */
export function scoreRecommenderPmml(spec: RecommenderPmmlSpec, user: number, product: number): number {
  let sum = 0;
  for (const tree of spec.trees) sum += treeScore(tree, user, product);
  const affinity = sum * spec.learningRate + spec.initScore;
  const bin = spec.bins.find((b) => product >= b.from && product < b.to);
  const y = spec.bias + affinity + (bin?.coefficient ?? 0);
  return 1 / (1 + Math.exp(-y));
}

// ---- PMML ---------------------------------------------------------------------------------

/** An XML element to write: attribute values are escaped on the way out. */
interface XmlNode {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string | number>>;
  readonly children: readonly XmlNode[];
}

const el = (name: string, attributes: Readonly<Record<string, string | number>> = {}, children: readonly XmlNode[] = []): XmlNode => ({
  name,
  attributes,
  children,
});

function serialize(node: XmlNode, depth = 0): string {
  const indent = '\t'.repeat(depth);
  const attrs = Object.entries(node.attributes)
    .map(([k, v]) => ` ${k}="${String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`)
    .join('');
  if (node.children.length === 0) return `${indent}<${node.name}${attrs}/>`;
  return `${indent}<${node.name}${attrs}>\n${node.children.map((c) => serialize(c, depth + 1)).join('\n')}\n${indent}</${node.name}>`;
}

const always = (): XmlNode => el('True');

function treeNode(tree: PmmlTree, predicate: XmlNode): XmlNode {
  if (tree.kind === 'leaf') return el('Node', { score: tree.score }, [predicate]);
  const below = el('SimplePredicate', { field: tree.field, operator: 'lessThan', value: tree.threshold });
  const above = el('SimplePredicate', { field: tree.field, operator: 'greaterOrEqual', value: tree.threshold });
  return el('Node', {}, [predicate, treeNode(tree.below, below), treeNode(tree.above, above)]);
}

function miningSchema(...fields: readonly (readonly [string, string?])[]): XmlNode {
  return el(
    'MiningSchema',
    {},
    fields.map(([name, usageType]) => el('MiningField', usageType === undefined ? { name } : { name, usageType })),
  );
}

/** The recommender PMML document (PMML 4.4) for the specification. */
export function buildRecommenderPmmlFrom(spec: RecommenderPmmlSpec): string {
  const trees = el('MiningModel', { functionName: 'regression', modelName: 'affinity-trees' }, [
    miningSchema(['users'], ['products']),
    el('Output', {}, [el('OutputField', { name: 'affinity', optype: 'continuous', dataType: 'double', feature: 'predictedValue', isFinalResult: 'false' })]),
    el('Targets', {}, [el('Target', { rescaleFactor: spec.learningRate, rescaleConstant: spec.initScore })]),
    el(
      'Segmentation',
      { multipleModelMethod: 'sum', missingPredictionTreatment: 'returnMissing' },
      spec.trees.map((tree, i) =>
        el('Segment', { id: `tree-${i + 1}` }, [
          always(),
          el('TreeModel', { functionName: 'regression', noTrueChildStrategy: 'returnLastPrediction', missingValueStrategy: 'nullPrediction' }, [
            miningSchema(['users'], ['products']),
            treeNode(tree, always()),
          ]),
        ]),
      ),
    ),
  ]);
  const link = el('RegressionModel', { functionName: 'regression', modelName: 'popularity-link', normalizationMethod: 'logit' }, [
    miningSchema(['score', 'target'], ['products'], ['affinity']),
    el('LocalTransformations', {}, [
      el('DerivedField', { name: 'popularity', optype: 'categorical', dataType: 'string' }, [
        el(
          'Discretize',
          { field: 'products', defaultValue: 'other' },
          spec.bins.map((bin, i) =>
            el('DiscretizeBin', { binValue: `bin${i}` }, [el('Interval', { closure: 'closedOpen', leftMargin: bin.from, rightMargin: bin.to })]),
          ),
        ),
      ]),
    ]),
    el('RegressionTable', { intercept: spec.bias }, [
      el('NumericPredictor', { name: 'affinity', coefficient: 1 }),
      ...spec.bins.map((bin, i) => el('CategoricalPredictor', { name: 'popularity', value: `bin${i}`, coefficient: bin.coefficient })),
    ]),
  ]);
  const document = el('PMML', { xmlns: 'http://www.dmg.org/PMML-4_4', version: '4.4' }, [
    el('Header', { description: recommenderPmmlDescription }, [el('Application', { name: 'Sluice examples/recommender/models/build-pmml.ts', version: '1' })]),
    el('DataDictionary', {}, [
      el('DataField', { name: 'score', optype: 'continuous', dataType: 'double' }),
      el('DataField', { name: 'users', optype: 'continuous', dataType: 'double' }),
      el('DataField', { name: 'products', optype: 'continuous', dataType: 'double' }),
    ]),
    el('MiningModel', { modelName: recommenderPmmlName, functionName: 'regression' }, [
      miningSchema(['score', 'target'], ['users'], ['products']),
      el('Segmentation', { multipleModelMethod: 'modelChain', missingPredictionTreatment: 'returnMissing' }, [
        el('Segment', { id: 'trees' }, [always(), trees]),
        el('Segment', { id: 'link' }, [always(), link]),
      ]),
    ]),
  ]);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serialize(document)}\n`;
}

/** The recommender PMML document with the default specification. */
export function buildRecommenderPmml(): string {
  return buildRecommenderPmmlFrom(recommenderPmmlSpec());
}

/** Writes `recommender-pmml.pmml` and its `.json` sidecar into `outDir`; returns the paths written. */
export async function writeRecommenderPmml(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const modelPath = join(outDir, `${recommenderPmmlName}.pmml`);
  const sidecarPath = join(outDir, `${recommenderPmmlName}.json`);
  await writeFile(modelPath, buildRecommenderPmml());
  await writeFile(sidecarPath, `${JSON.stringify({ description: recommenderPmmlDescription }, null, 2)}\n`);
  return [modelPath, sidecarPath];
}

// CLI: only when this file is the entry point, never on import.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url));
  for (const path of await writeRecommenderPmml(outDir)) console.log(`wrote ${path}`);
}
