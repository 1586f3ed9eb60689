/** The OpenAlgo bridge on the in-process log: nothing to set up, the topics exist at start. */
import { slowTests } from "../support/timeout.ts";
import { openAlgoScenarios } from "./scenarios.ts";

slowTests();

openAlgoScenarios("embedded", { env: async () => ({}), ownsPipelineTopics: true });
