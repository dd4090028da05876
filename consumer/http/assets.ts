/**
 * Static files of the dashboard, bundled as text imports: the page, its script and styles, and
 * the uPlot charting library from the pinned npm package (`uplot` in deno.json). Nothing is
 * fetched from a CDN; the dashboard works offline, and reading them needs no permission.
 *
 * @module
 */
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import dashboardHtml from "./dashboard.html" with { type: "text" };
import dashboardJs from "./dashboard.js" with { type: "text" };
import dashboardCss from "./dashboard.css" with { type: "text" };

/** A static file: body and content type. */
export interface Asset {
  readonly body: string;
  readonly type: string;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** Static files by URL path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map<string, Asset>([
  ["/", { body: dashboardHtml, type: "text/html; charset=utf-8" }],
  ["/assets/dashboard.js", { body: dashboardJs, type: JS }],
  ["/assets/dashboard.css", { body: dashboardCss, type: CSS }],
  ["/assets/uPlot.iife.min.js", { body: uplotJs, type: JS }],
  ["/assets/uPlot.min.css", { body: uplotCss, type: CSS }],
]);
