import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packages = fileURLToPath(new URL('../../', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('@mmmi/test-utils stays out of shipped code', () => {
  const names = readdirSync(packages).filter((p) => p !== 'test-utils' && statSync(join(packages, p, 'package.json'), { throwIfNoEntry: false }));

  it('no package imports it from src/', () => {
    expect(names.length).toBeGreaterThan(3);
    const offenders = names.flatMap((p) => {
      const src = join(packages, p, 'src');
      if (!statSync(src, { throwIfNoEntry: false })) return [];
      return files(src).filter((f) => /\.[cm]?[jt]sx?$/.test(f) && readFileSync(f, 'utf8').includes('@mmmi/test-utils'));
    });
    expect(offenders).toEqual([]);
  });

  it('no package lists it outside devDependencies', () => {
    for (const p of names) {
      const pkg = JSON.parse(readFileSync(join(packages, p, 'package.json'), 'utf8'));
      expect(pkg.dependencies?.['@mmmi/test-utils'], p).toBeUndefined();
      expect(pkg.peerDependencies?.['@mmmi/test-utils'], p).toBeUndefined();
    }
  });
});
