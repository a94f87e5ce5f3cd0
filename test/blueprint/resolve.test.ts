import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/core/errors.js';
import { createStreamletResolver, type StreamletResolver } from '../../src/blueprint/resolve.js';
import { Formatter, Source, testPackage } from './fixtures.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/blueprints');
const fixture = (name: string): string => path.join(fixtures, name);

async function failure(resolve: StreamletResolver, className: string): Promise<{ code: string; message: string }> {
  try {
    await resolve(className);
  } catch (err) {
    if (isSluiceError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error(`${className} resolved`);
}

describe('createStreamletResolver', () => {
  it('resolves package.Class from packages given in code', async () => {
    const resolve = createStreamletResolver({ packages: { test: testPackage } });
    expect(await resolve('test.Source')).toBe(Source);
    expect(await resolve('test.Formatter')).toBe(Formatter);
  });

  it('imports a lazy package once, whatever shape its module has', async () => {
    let imports = 0;
    const resolve = createStreamletResolver({
      packages: {
        plain: async () => {
          imports++;
          return testPackage;
        },
        namespace: async () => ({ default: testPackage, unrelated: 1 }),
        named: () => import('../fixtures/blueprints/named-streamlets.js'),
        loose: () => import('../fixtures/blueprints/loose-exports.js'),
      },
    });
    expect(await resolve('plain.Source')).toBe(Source);
    expect(await resolve('plain.Formatter')).toBe(Formatter);
    expect(imports).toBe(1);
    expect(await resolve('namespace.Source')).toBe(Source);
    expect((await resolve('named.Idle')).description).toBe('Does nothing');
    expect((await resolve('loose.Idle')).description).toBe('Does nothing');
    expect(await failure(resolve, 'loose.notAStreamlet')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_NOT_FOUND',
      message: 'streamlet class loose.notAStreamlet not found: package loose has no class notAStreamlet (classes: Idle)',
    });
  });

  it('imports blueprint modules by absolute path, .ts included', async () => {
    const resolve = createStreamletResolver({ blueprintModules: { user: fixture('user-module.ts'), 'acme.tools': fixture('named-streamlets.ts') } });
    expect((await resolve('user.Counter')).description).toBe('Counts');
    expect((await resolve('acme.tools.Idle')).description).toBe('Does nothing');
  });

  it('looks in code first, then in the blueprint module of the same package', async () => {
    const resolve = createStreamletResolver({ packages: { user: { Source } }, blueprintModules: { user: fixture('user-module.ts') } });
    expect(await resolve('user.Source')).toBe(Source);
    expect((await resolve('user.Printer')).description).toBe('Prints counts');
    expect(await failure(resolve, 'user.Nope')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_NOT_FOUND',
      message: 'streamlet class user.Nope not found: package user has no class Nope (classes: Counter, Printer, Source)',
    });
  });

  it('says which packages and classes exist', async () => {
    const resolve = createStreamletResolver({ packages: { test: testPackage }, blueprintModules: { user: fixture('user-module.ts') } });
    expect(await failure(resolve, 'recommender.DataIngress')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_NOT_FOUND',
      message: 'streamlet class recommender.DataIngress not found: package recommender is not known (packages: test, user)',
    });
    expect(await failure(resolve, 'test.Nope')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_NOT_FOUND',
      message:
        'streamlet class test.Nope not found: package test has no class Nope (classes: DeadLetterSink, Formatter, Merger, ReadingSinkV2, Source, StrictSink, TextSink)',
    });
    expect(await failure(resolve, 'Source')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_NOT_FOUND',
      message: 'streamlet class Source not found: class names have the form package.Class (packages: test, user)',
    });
    expect(await failure(createStreamletResolver(), 'x.Y')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_NOT_FOUND',
      message: 'streamlet class x.Y not found: package x is not known (packages: none)',
    });
  });

  it('says why a module cannot be loaded', async () => {
    const resolve = createStreamletResolver({
      blueprintModules: {
        broken: fixture('broken-module.ts'),
        empty: fixture('no-streamlets.ts'),
        missing: fixture('does-not-exist.js'),
      },
      packages: { odd: { Thing: { description: 'not a streamlet' } as never } },
    });
    expect(await failure(resolve, 'broken.Thing')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_LOAD_FAILED',
      message: `streamlet class broken.Thing cannot be loaded: module ${fixture('broken-module.ts')} (package broken) failed to load: broken on purpose`,
    });
    expect(await failure(resolve, 'empty.Thing')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_LOAD_FAILED',
      message: `streamlet class empty.Thing cannot be loaded: module ${fixture('no-streamlets.ts')} (package empty) failed to load: it exports no streamlets: expected a default export or a named export "streamlets" mapping class names to streamlet definitions`,
    });
    const missing = await failure(resolve, 'missing.Thing');
    expect(missing.code).toBe('SLUICE_ERR_STREAMLET_LOAD_FAILED');
    expect(missing.message).toContain(
      `streamlet class missing.Thing cannot be loaded: module ${fixture('does-not-exist.js')} (package missing) failed to load: `,
    );
    expect(await failure(resolve, 'odd.Thing')).toEqual({
      code: 'SLUICE_ERR_STREAMLET_LOAD_FAILED',
      message: 'streamlet class odd.Thing cannot be loaded: package odd exports Thing, but it is not a streamlet definition (use defineStreamlet)',
    });
  });
});
