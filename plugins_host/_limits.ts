/**
 * Limits shared by the host and the plugin-side harness (which may import nothing else from
 * this folder: the plugin process can read only the files it needs).
 *
 * @module
 */

/** Most characters of one error message a plugin may report (the harness cuts longer ones). */
export const MAX_MESSAGE_CHARS = 200;
/** Most error entries per reply that carry a message; later ones carry `""`. */
export const MAX_MESSAGES = 20;

/** Exit code of a plugin process whose resident memory went over its limit. */
export const RSS_EXIT_CODE = 86;
/** How often the plugin process checks its resident memory, ms. */
export const RSS_CHECK_MS = 200;
/** The plugin process reports its resident memory to the host every this many checks. */
export const RSS_REPORT_EVERY = 5;
