#!/usr/bin/env node
import { launch } from '@mmmi/cli-kit/launch';
await launch('mmmi-bench', import.meta.url);
