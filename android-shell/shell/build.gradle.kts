// Plain Kotlin/JVM: no Android import. Compiled against the JVM flavour of the bindings; the
// app links the Android flavour (same classes). On Linux CI this module is compiled and tested
// by `cargo xtask test-shells` with kotlinc directly (README.md).
plugins {
    alias(libs.plugins.kotlin.jvm)
}
kotlin { jvmToolchain(17) }

dependencies {
    compileOnly(project(":bindings-jvm"))
    implementation(libs.kotlinx.coroutines.core)
    testImplementation(project(":bindings-jvm"))
    testImplementation(libs.junit)
}

tasks.test {
    // The suite starts `gridpatrol hq serve` and attaches the fixture JPEGs (README.md).
    systemProperty("jna.library.path", rootDir.resolve("../build/bindings/lib").path)
    environment("GRIDPATROL_BIN", rootDir.resolve("../build/bindings/bin/gridpatrol").path)
    environment("GRIDPATROL_FIXTURES", rootDir.resolve("../build/bindings/fixtures").path)
}
