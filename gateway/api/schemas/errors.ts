/** The one error shape of every route. */
import { z } from "zod";

export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().meta({ description: "For VALIDATION_FAILED: [{path, message}], one per bad field." }),
  }),
});
