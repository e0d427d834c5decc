// Composition root of the image-puller (see service.ts): the only file that runs it.
import { runService } from '@lxr/service-kit';
import { imagePullerService } from './service.js';

await runService(imagePullerService);
