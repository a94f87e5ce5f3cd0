/**
 * TreeModel, compiled into linked nodes whose predicates are closures and whose results (a
 * score, or a classification with its probabilities) are computed once, at load.
 *
 * Traversal starts at the root (whose predicate must be true) and moves to the first child
 * whose predicate is true. A leaf is the result. When no child is true, `noTrueChildStrategy`
 * decides: `returnNullPrediction` (default) gives no prediction, `returnLastPrediction` gives
 * the current node's. When a child's predicate is UNKNOWN (a missing value),
 * `missingValueStrategy` decides: `none` (default) treats it as false; `lastPrediction` stops
 * with the current node; `nullPrediction` gives no prediction; `defaultChild` continues with
 * the current node's `defaultChild`.
 *
 * Classification nodes: the probabilities come from ScoreDistribution (`probability` when
 * every entry has one, else recordCount / Σ recordCount); the predicted class is the node's
 * `score`, or the most probable class; a node with a score and no distribution is certain of
 * its score.
 */
import type { TreeModel, TreeNode } from '../document.js';
import { PmmlError } from '../errors.js';
import { compilePredicate, type CompiledPredicate } from '../predicates.js';
import type { Row, Scope } from '../scope.js';
import { argmax, classLabels, indexOfClass, type Classification, type ClassLabel, type Evaluator, type TargetInfo } from './model.js';

interface Node<R> {
  readonly predicate: CompiledPredicate;
  readonly children: Node<R>[];
  defaultChild: Node<R> | undefined;
  readonly result: R;
}

export function compileTreeModel(model: TreeModel, scope: Scope, target: TargetInfo): Evaluator {
  if (model.functionName === 'regression') {
    const root = compileNode(model, model.root, scope, (node) => {
      if (node.score === undefined) return NaN;
      const score = Number(node.score);
      if (node.score.trim() === '' || !Number.isFinite(score)) {
        throw new PmmlError(`Node score '${node.score}' is not a number, but the TreeModel is a regression`, node.path);
      }
      return score;
    });
    const traverse = traversal(model, root);
    return {
      kind: 'regression',
      score: (row) => {
        const node = traverse(row);
        return node === undefined ? NaN : node.result;
      },
    };
  }
  const candidates: string[] = [];
  collectClasses(model.root, candidates);
  const classes = classLabels(target, candidates, model.path);
  const root = compileNode(model, model.root, scope, (node) => classificationOf(node, classes, target));
  const traverse = traversal(model, root);
  return {
    kind: 'classification',
    classes,
    classify: (row) => traverse(row)?.result,
  };
}

function collectClasses(node: TreeNode, into: string[]): void {
  if (node.score !== undefined) into.push(node.score);
  for (const d of node.scoreDistributions) into.push(d.value);
  for (const child of node.children) collectClasses(child, into);
}

function classificationOf(node: TreeNode, classes: readonly ClassLabel[], target: TargetInfo): Classification | undefined {
  const probabilities = new Float64Array(classes.length);
  const distributions = node.scoreDistributions;
  const explicit = distributions.length > 0 && distributions.every((d) => d.probability !== undefined);
  const total = distributions.reduce((sum, d) => sum + d.recordCount, 0);
  if (explicit || total > 0) {
    for (const d of distributions) {
      const at = indexOfClass(classes, target, d.value, d.path);
      probabilities[at] = (probabilities[at] as number) + (explicit ? (d.probability as number) : d.recordCount / total);
    }
  } else if (node.score !== undefined) {
    probabilities[indexOfClass(classes, target, node.score, node.path)] = 1;
  } else {
    return undefined;
  }
  const index = node.score !== undefined ? indexOfClass(classes, target, node.score, node.path) : argmax(probabilities);
  return { index, probabilities };
}

function compileNode<R>(model: TreeModel, node: TreeNode, scope: Scope, resultOf: (node: TreeNode) => R): Node<R> {
  const compiled: Node<R> = {
    predicate: compilePredicate(node.predicate, scope),
    children: node.children.map((child) => compileNode(model, child, scope, resultOf)),
    defaultChild: undefined,
    result: resultOf(node),
  };
  if (model.missingValueStrategy === 'defaultChild' && node.children.length > 0) {
    if (node.defaultChild === undefined) {
      throw new PmmlError('TreeModel has missingValueStrategy="defaultChild", but this Node with children has no defaultChild', node.path);
    }
    const at = node.children.findIndex((c) => c.id === node.defaultChild);
    if (at < 0) throw new PmmlError(`Node defaultChild '${node.defaultChild}' is not the id of one of its children`, node.path);
    compiled.defaultChild = compiled.children[at];
  }
  return compiled;
}

/** Walks the tree for a row: the node whose result is the prediction, or undefined for none. */
function traversal<R>(model: TreeModel, root: Node<R>): (row: Row) => Node<R> | undefined {
  const strategy = model.missingValueStrategy;
  const returnLast = model.noTrueChildStrategy === 'returnLastPrediction';
  return (row) => {
    // The root has no parent to fall back to: only a true predicate lets scoring start.
    if (root.predicate(row) !== true) return undefined;
    let node = root;
    descend: for (;;) {
      const children = node.children;
      if (children.length === 0) return node;
      for (let i = 0; i < children.length; i++) {
        const child = children[i] as Node<R>;
        const truth = child.predicate(row);
        if (truth === true) {
          node = child;
          continue descend;
        }
        if (truth === undefined) {
          switch (strategy) {
            case 'none':
              break;
            case 'lastPrediction':
              return node;
            case 'nullPrediction':
              return undefined;
            case 'defaultChild':
              node = node.defaultChild as Node<R>;
              continue descend;
          }
        }
      }
      return returnLast ? node : undefined;
    }
  };
}
