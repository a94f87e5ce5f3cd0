/**
 * A router node sends each request to one of its children.
 *
 * - `weighted`: child i with probability weights[i] / sum(weights): an A/B split.
 * - `epsilon-greedy`: with probability epsilon a child chosen uniformly (exploration), else the
 *   child with the highest mean reward so far (ties: the earliest); a child no reward has
 *   reached yet counts as 0. Rewards come from feedback on the requests it routed.
 *
 * Every router takes rewards (an A/B test reads them from the metrics); only epsilon-greedy
 * acts on them. A `seed` makes the choices repeatable.
 */
import { seededRandom } from '../../util/random.js';

export interface Router {
  choose(): number;
  credit(child: number, reward: number): void;
}

export function weightedRouter(weights: readonly number[], seed: number | undefined): Router {
  const random = seed === undefined ? Math.random : seededRandom(seed);
  const total = weights.reduce((a, b) => a + b, 0);
  const bounds: number[] = [];
  let sum = 0;
  for (const w of weights) bounds.push((sum += w));
  return {
    choose() {
      const r = random() * total;
      // A child with weight 0 has no width: `>` never picks it.
      const found = bounds.findIndex((bound) => bound > r);
      return found < 0 ? bounds.length - 1 : found;
    },
    credit() {},
  };
}

export function epsilonGreedyRouter(children: number, epsilon: number, seed: number | undefined): Router {
  const random = seed === undefined ? Math.random : seededRandom(seed);
  const rewards = new Float64Array(children);
  const counts = new Float64Array(children);
  return {
    choose() {
      if (random() < epsilon) return Math.min(children - 1, Math.floor(random() * children));
      let best = 0;
      let bestMean = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < children; i++) {
        const mean = counts[i] === 0 ? 0 : (rewards[i] as number) / (counts[i] as number);
        if (mean > bestMean) {
          best = i;
          bestMean = mean;
        }
      }
      return best;
    },
    credit(child, reward) {
      rewards[child] = (rewards[child] as number) + reward;
      counts[child] = (counts[child] as number) + 1;
    },
  };
}

/**
 * The routes of recent requests by id, for feedback: bounded, the oldest forgotten first. A
 * request is credited once: taking its routes forgets them.
 */
export class RouteMemory {
  private readonly routes = new Map<string, Readonly<Record<string, number>>>();

  constructor(readonly limit: number) {}

  remember(id: string, routes: Readonly<Record<string, number>>): void {
    this.routes.delete(id);
    this.routes.set(id, routes);
    if (this.routes.size > this.limit) this.routes.delete(this.routes.keys().next().value as string);
  }

  peek(id: string): Readonly<Record<string, number>> | undefined {
    return this.routes.get(id);
  }

  take(id: string): Readonly<Record<string, number>> | undefined {
    const found = this.routes.get(id);
    this.routes.delete(id);
    return found;
  }
}
