/**
 * The zod schemas of the API: what requests must look like (these validate them) and what
 * responses look like (these document them, and the tests check responses against them). The
 * OpenAPI document is generated from exactly these. One module per resource, in schemas/.
 *
 * Money comes in and goes out as decimal strings in rupees ("2451.35"), never as JSON numbers: a
 * JSON number is a binary float to most clients, and 0.1 + 0.2 is not 0.3. A number where money
 * is expected is refused with a message saying so.
 */
export { amountIn, brokerName, brokerParam, instrumentToken, moneyOut, priceIn, STRATEGY_ID } from "./schemas/fields.ts";
export { listOrdersQuery, orderListResponse, orderOut, orderResponse, placeOrderBody } from "./schemas/orders.ts";
export { portfolioListResponse, portfolioOut, portfolioResponse, positionOut, positionsResponse, tradeOut, tradesQuery, tradesResponse } from "./schemas/portfolios.ts";
export { createStrategyBody, patchStrategyBody, strategyListResponse, strategyOut, strategyResponse } from "./schemas/strategies.ts";
export { MONEY_LIMITS, riskLimitsBody, riskOut, riskResponse, riskStateBody } from "./schemas/risk.ts";
export { fastTicksBody, inUtcRange, instrumentListResponse, instrumentOut, MAX_TICKS, ticksBody, ticksResponse } from "./schemas/market.ts";
export { calendarQuery, calendarResponse } from "./schemas/market.ts";
export { errorResponse } from "./schemas/errors.ts";
export { cancelAllQuery, cancelAllResponse, squareOffBody, squareOffResponse } from "./schemas/square-off.ts";
