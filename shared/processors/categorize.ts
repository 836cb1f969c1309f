import { Type } from '@sinclair/typebox';
import { FieldValue } from '../contracts.js';
import type { ProcessorDescriptor } from '../processor.js';

/**
 * The original system's task: a product name (item_a) and its brand (item_b) in, the shop
 * category out, with a confidence and the runners-up. The model is a text classifier trained on
 * the labelled products in worker/processors/categorize/data/.
 */
export const categorizeDescriptor: ProcessorDescriptor = {
  name: 'categorize',
  version: '1.0.0',
  description:
    'Puts a product in a shop category from its name (item_a) and brand (item_b): returns the category, a confidence (0..1) and the next most likely categories.',
  fields: Type.Object(
    {
      item_a: Type.String({ minLength: 1, maxLength: 500, description: 'Product name, e.g. "Galaxy S23 Ultra 256GB"' }),
      item_b: Type.Optional(Type.String({ maxLength: 200, description: 'Brand, e.g. "Samsung"; optional but it helps' })),
      top: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 3, description: 'How many categories to return, the best first (default 3)' })),
    },
    { additionalProperties: FieldValue },
  ),
};
