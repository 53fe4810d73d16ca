/* The top-level commands of the kenyon CLI; each lives in src/cli/cmd_<name>.c and is a thin layer
 * over the library. argv[0] is the first argument after the command name. Returns the exit code. */
#ifndef KENYON_CLI_COMMANDS_H
#define KENYON_CLI_COMMANDS_H

int kn_cmd_data(int argc, char **argv);
int kn_cmd_data_kana(int argc, char **argv); /* the `data kana` verb (cmd_data_kana.c) */
int kn_cmd_run(int argc, char **argv);
int kn_cmd_bench(int argc, char **argv);
int kn_cmd_features(int argc, char **argv);
int kn_cmd_dynamics(int argc, char **argv);
int kn_cmd_rl(int argc, char **argv);

#endif
