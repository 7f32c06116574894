// Lint rules of the whole repository: typescript-eslint's recommended set, plus the
// type-aware checks that catch real bugs cheaply (a promise nobody awaits). `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'output_dir/**', 'logs/**', '.nx/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['packages/*/{src,test,bench}/**/*.ts', 'scripts/*.ts', 'scripts/bad-inputs/*.ts'],
    languageOptions: {
      // each package's tsconfig.test.json covers its src/, test/ and bench/
      parserOptions: { project: ['packages/*/tsconfig.test.json', 'scripts/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
