/* `cntr agent ...` (the lambda-cntr agent pod's programs). */
#pragma once

/* argv[0] is "agent". Returns the exit status. */
int cntr_agent_main(int argc, char **argv);
