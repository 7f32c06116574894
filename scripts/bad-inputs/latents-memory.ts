/** Bad inputs of issue #23: latents-memory. */
import type { Case } from './case.js';

export const cases: Case[] = [];
