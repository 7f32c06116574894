/** Bad inputs of issue #23: python-reader. */
import type { Case } from './case.js';

export const cases: Case[] = [];
