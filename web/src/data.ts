// The data several views share, fetched through SWR: one request however many
// components ask (the district list in three selects is one request), kept for the
// session, asked again when stale. Lists that change by the second (timelines,
// requests, the register) are fetched where they are shown.
import useSWR from "swr";
import { cameras, districts, myGrants, placeTypes } from "./api";

const once = { revalidateOnFocus: false, revalidateIfStale: false, dedupingInterval: 60_000 };

/** Shenzhen's districts (static for the session). */
export const useDistricts = () => useSWR("districts", districts, once).data ?? [];
/** The rulebook's place types (static for the session). */
export const usePlaceTypes = () => useSWR("places", placeTypes, once).data ?? [];
/** The user's grants (asked again every 30 s, and when the page regains focus). */
export const useGrants = () => useSWR("grants", myGrants, { refreshInterval: 30_000 });
/** The cameras the user may see, asked again every `refreshMs` (status changes; the
 *  live wall asks more often than the pickers). */
export const useCameras = (refreshMs = 10_000) =>
  useSWR("cameras", cameras, { refreshInterval: refreshMs }).data ?? [];
